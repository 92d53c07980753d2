using System.Runtime.CompilerServices;

namespace Recurrent.Kernels.Cells;

/// <summary>
/// RNN with ReLU: <c>h' = max(ig + hg, 0)</c> with NaN kept (as IEEE max in PyTorch), recorded over the input projection;
/// backward <c>da = dh·[h &gt; 0]</c>.
/// </summary>
internal readonly struct ReluGates : ICell
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
        TV s = TS.Add(TS.Load(ref row.Tile, u), TS.Load(ref row.Input, u));
        TV a = TS.KeepNaN(s, TS.Max(s, TS.Zero));
        TS.Store(a, ref row.H, u);
        if (record)
        {
            TS.Store(a, ref row.Input, u);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(in GateRow row, int j, int unit, bool record)
    {
        float s = Unsafe.Add(ref row.Tile, j) + Unsafe.Add(ref row.Input, j);
        float a = s > 0f || float.IsNaN(s) ? s : 0f;
        Unsafe.Add(ref row.H, j) = a;
        if (record)
        {
            Unsafe.Add(ref row.Input, j) = a;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TS, TV>(in GradientRow row, nuint u, nuint hidden)
        where TS : struct, ISimd<TV>
        where TV : struct =>
        TS.Store(TS.WherePositive(TS.Load(ref row.Gates, u), TS.Load(ref row.Dh, u)), ref row.DGi, u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(in GradientRow row, int j, int hidden) =>
        Unsafe.Add(ref row.DGi, j) = Unsafe.Add(ref row.Gates, j) > 0f ? Unsafe.Add(ref row.Dh, j) : 0f;
}
