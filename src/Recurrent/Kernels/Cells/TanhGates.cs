using System.Runtime.CompilerServices;

namespace Recurrent.Kernels.Cells;

/// <summary>
/// RNN with tanh: <c>h' = tanh(ig + hg)</c>, which it records over the input projection; backward <c>da = dh·(1-h²)</c>.
/// </summary>
internal readonly struct TanhGates : ICell
{
    public static int Gates => 1;

    public static int Unit => 64;

    public static bool HasCellState => false;

    public static bool KeepsHiddenGate => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TS, TV>(in GateRow row, nuint u, nuint unit, bool record)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV a = Activations.Tanh<TS, TV>(TS.Add(TS.Load(ref row.Tile, u), TS.Load(ref row.Input, u)));
        TS.Store(a, ref row.H, u);
        if (record)
        {
            TS.Store(a, ref row.Input, u);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(in GateRow row, int j, int unit, bool record)
    {
        float a = Activations.Tanh(Unsafe.Add(ref row.Tile, j) + Unsafe.Add(ref row.Input, j));
        Unsafe.Add(ref row.H, j) = a;
        if (record)
        {
            Unsafe.Add(ref row.Input, j) = a;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TS, TV>(in GradientRow row, nuint u, nuint hidden)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV h = TS.Load(ref row.Gates, u);
        TS.Store(TS.Multiply(TS.Load(ref row.Dh, u), TS.Subtract(TS.Create(1f), TS.Multiply(h, h))), ref row.DGi, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(in GradientRow row, int j, int hidden)
    {
        float h = Unsafe.Add(ref row.Gates, j);
        Unsafe.Add(ref row.DGi, j) = Unsafe.Add(ref row.Dh, j) * (1f - (h * h));
    }
}
