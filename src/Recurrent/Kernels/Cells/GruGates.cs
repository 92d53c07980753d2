using System.Runtime.CompilerServices;

namespace Recurrent.Kernels.Cells;

/// <summary>
/// GRU, gates r, z, n, with PyTorch's linear-before-reset n. Forward: <c>r,z = σ(ig + hg); n = tanh(ig_n + r*(hg_n + b_hn));
/// h' = (h - n)*z + n</c>; it records r, z, n over the input projection and hn = <c>W_hn h + b_hn</c> over the tile's n block.
/// Backward: <c>dn = dh·(1-z)(1-n²)</c>, <c>dz = dh·(h_prev - n)·z(1-z)</c>, <c>dr = dn·hn·r(1-r)</c>; the hidden side
/// differs only in n (<c>dn·r</c>); the direct part of dh_prev, <c>dh·z</c>, goes into <c>Dc</c>.
/// </summary>
internal readonly struct GruGates : ICell
{
    public static int Gates => 3;

    public static int Unit => 32;

    public static bool HasCellState => false;

    public static bool KeepsHiddenGate => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TS, TV>(in GateRow row, nuint u, nuint unit, bool record)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        ref float t = ref row.Tile, x = ref row.Input;
        nuint U = unit;
        TV rg = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u), TS.Load(ref x, u)));
        TV z = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u + U), TS.Load(ref x, u + U)));
        TV hn = TS.Add(TS.Load(ref t, u + (2 * U)), TS.Load(ref row.BiasHN, u));
        TV n = Activations.Tanh<TS, TV>(TS.Add(TS.Load(ref x, u + (2 * U)), TS.Multiply(rg, hn)));
        TV hp = TS.Load(ref row.HPrev, u);
        TS.Store(TS.Add(TS.Multiply(TS.Subtract(hp, n), z), n), ref row.H, u);
        if (record)
        {
            TS.Store(rg, ref x, u);
            TS.Store(z, ref x, u + U);
            TS.Store(n, ref x, u + (2 * U));
            TS.Store(hn, ref t, u + (2 * U));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(in GateRow row, int j, int unit, bool record)
    {
        ref float tj = ref Unsafe.Add(ref row.Tile, j);
        ref float xj = ref Unsafe.Add(ref row.Input, j);
        int U = unit;
        float rg = Activations.Sigmoid(tj + xj);
        float z = Activations.Sigmoid(Unsafe.Add(ref tj, U) + Unsafe.Add(ref xj, U));
        float hn = Unsafe.Add(ref tj, 2 * U) + Unsafe.Add(ref row.BiasHN, j);
        float n = Activations.Tanh(Unsafe.Add(ref xj, 2 * U) + (rg * hn));
        Unsafe.Add(ref row.H, j) = ((Unsafe.Add(ref row.HPrev, j) - n) * z) + n;
        if (record)
        {
            (xj, Unsafe.Add(ref xj, U), Unsafe.Add(ref xj, 2 * U), Unsafe.Add(ref tj, 2 * U)) = (rg, z, n, hn);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TS, TV>(in GradientRow row, nuint u, nuint hidden)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint H = hidden;
        TV one = TS.Create(1f);
        TV d = TS.Load(ref row.Dh, u);
        ref float gates = ref row.Gates;
        TV r = TS.Load(ref gates, u), z = TS.Load(ref gates, u + H), n = TS.Load(ref gates, u + (2 * H));
        TV dn = TS.Multiply(TS.Multiply(d, TS.Subtract(one, z)), TS.Subtract(one, TS.Multiply(n, n)));
        TV dz = TS.Multiply(TS.Multiply(d, TS.Subtract(TS.Load(ref row.Prev, u), n)), TS.Multiply(z, TS.Subtract(one, z)));
        TV dr = TS.Multiply(TS.Multiply(dn, TS.Load(ref row.Aux, u)), TS.Multiply(r, TS.Subtract(one, r)));
        TS.Store(dr, ref row.DGi, u);
        TS.Store(dz, ref row.DGi, u + H);
        TS.Store(dn, ref row.DGi, u + (2 * H));
        TS.Store(dr, ref row.DGh, u);
        TS.Store(dz, ref row.DGh, u + H);
        TS.Store(TS.Multiply(dn, r), ref row.DGh, u + (2 * H));
        TS.Store(TS.Multiply(d, z), ref row.Dc, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(in GradientRow row, int j, int hidden)
    {
        int H = hidden;
        float d = Unsafe.Add(ref row.Dh, j);
        ref float gates = ref row.Gates;
        float r = Unsafe.Add(ref gates, j), z = Unsafe.Add(ref gates, H + j), n = Unsafe.Add(ref gates, (2 * H) + j);
        float dn = d * (1f - z) * (1f - (n * n));
        float dz = d * (Unsafe.Add(ref row.Prev, j) - n) * (z * (1f - z));
        float dr = dn * Unsafe.Add(ref row.Aux, j) * (r * (1f - r));
        (Unsafe.Add(ref row.DGi, j), Unsafe.Add(ref row.DGi, H + j), Unsafe.Add(ref row.DGi, (2 * H) + j)) = (dr, dz, dn);
        (Unsafe.Add(ref row.DGh, j), Unsafe.Add(ref row.DGh, H + j), Unsafe.Add(ref row.DGh, (2 * H) + j)) = (dr, dz, dn * r);
        Unsafe.Add(ref row.Dc, j) = d * z;
    }
}
