using System.Runtime.CompilerServices;

namespace Recurrent.Kernels.Cells;

/// <summary>
/// LSTM, gates i, f, g, o. Forward (PyTorch's RNN.cpp): <c>i,f,o = σ, g = tanh; c' = f*c + i*g; h' = o*tanh(c')</c>;
/// it records i, f, g, o over the input projection and c' (kept by the tape). Backward, with dh = dL/dh_t (the unprojected
/// h with proj_size): <c>dc = dc_next + dh·o·(1 - tanh²c)</c>; <c>di = dc·g·i(1-i)</c>, <c>df = dc·c_prev·f(1-f)</c>,
/// <c>dg = dc·i·(1-g²)</c>, <c>do = dh·tanh(c)·o(1-o)</c>; dc_prev = dc·f goes back into <c>Dc</c>.
/// </summary>
internal readonly struct LstmGates : ICell
{
    public static int Gates => 4;

    public static int Unit => 16;

    public static bool HasCellState => true;

    public static bool KeepsHiddenGate => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TS, TV>(in GateRow row, nuint u, nuint unit, bool record)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        ref float t = ref row.Tile, x = ref row.Input;
        nuint U = unit;
        TV i = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u), TS.Load(ref x, u)));
        TV f = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u + U), TS.Load(ref x, u + U)));
        TV g = Activations.Tanh<TS, TV>(TS.Add(TS.Load(ref t, u + (2 * U)), TS.Load(ref x, u + (2 * U))));
        TV o = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u + (3 * U)), TS.Load(ref x, u + (3 * U))));
        TV cNew = TS.Add(TS.Multiply(f, TS.Load(ref row.Cell, u)), TS.Multiply(i, g));
        TS.Store(cNew, ref row.Cell, u);
        if (record)
        {
            TS.Store(i, ref x, u);
            TS.Store(f, ref x, u + U);
            TS.Store(g, ref x, u + (2 * U));
            TS.Store(o, ref x, u + (3 * U));
        }

        TS.Store(TS.Multiply(o, Activations.Tanh<TS, TV>(cNew)), ref row.H, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(in GateRow row, int j, int unit, bool record)
    {
        ref float tj = ref Unsafe.Add(ref row.Tile, j);
        ref float xj = ref Unsafe.Add(ref row.Input, j);
        ref float c = ref Unsafe.Add(ref row.Cell, j);
        int U = unit;
        float i = Activations.Sigmoid(tj + xj);
        float f = Activations.Sigmoid(Unsafe.Add(ref tj, U) + Unsafe.Add(ref xj, U));
        float g = Activations.Tanh(Unsafe.Add(ref tj, 2 * U) + Unsafe.Add(ref xj, 2 * U));
        float o = Activations.Sigmoid(Unsafe.Add(ref tj, 3 * U) + Unsafe.Add(ref xj, 3 * U));
        c = (f * c) + (i * g);
        Unsafe.Add(ref row.H, j) = o * Activations.Tanh(c);
        if (record)
        {
            (xj, Unsafe.Add(ref xj, U), Unsafe.Add(ref xj, 2 * U), Unsafe.Add(ref xj, 3 * U)) = (i, f, g, o);
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
        ref float gates = ref row.Gates, dGi = ref row.DGi;
        TV i = TS.Load(ref gates, u), f = TS.Load(ref gates, u + H), g = TS.Load(ref gates, u + (2 * H)), o = TS.Load(ref gates, u + (3 * H));
        TV tc = Activations.Tanh<TS, TV>(TS.Load(ref row.Aux, u));
        TV dcj = TS.MultiplyAdd(TS.Multiply(d, o), TS.Subtract(one, TS.Multiply(tc, tc)), TS.Load(ref row.Dc, u));
        TS.Store(TS.Multiply(TS.Multiply(dcj, g), TS.Multiply(i, TS.Subtract(one, i))), ref dGi, u);
        TS.Store(TS.Multiply(TS.Multiply(dcj, TS.Load(ref row.Prev, u)), TS.Multiply(f, TS.Subtract(one, f))), ref dGi, u + H);
        TS.Store(TS.Multiply(TS.Multiply(dcj, i), TS.Subtract(one, TS.Multiply(g, g))), ref dGi, u + (2 * H));
        TS.Store(TS.Multiply(TS.Multiply(d, tc), TS.Multiply(o, TS.Subtract(one, o))), ref dGi, u + (3 * H));
        TS.Store(TS.Multiply(dcj, f), ref row.Dc, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(in GradientRow row, int j, int hidden)
    {
        int H = hidden;
        float d = Unsafe.Add(ref row.Dh, j);
        ref float gates = ref row.Gates, dGi = ref row.DGi;
        float i = Unsafe.Add(ref gates, j), f = Unsafe.Add(ref gates, H + j), g = Unsafe.Add(ref gates, (2 * H) + j), o = Unsafe.Add(ref gates, (3 * H) + j);
        float tc = Activations.Tanh(Unsafe.Add(ref row.Aux, j));
        ref float dcRef = ref Unsafe.Add(ref row.Dc, j);
        float dcj = dcRef + (d * o * (1f - (tc * tc)));
        Unsafe.Add(ref dGi, j) = dcj * g * (i * (1f - i));
        Unsafe.Add(ref dGi, H + j) = dcj * Unsafe.Add(ref row.Prev, j) * (f * (1f - f));
        Unsafe.Add(ref dGi, (2 * H) + j) = dcj * i * (1f - (g * g));
        Unsafe.Add(ref dGi, (3 * H) + j) = d * tc * (o * (1f - o));
        dcRef = dcj * f;
    }
}
