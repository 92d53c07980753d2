using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Recurrent.Kernels.Cells;

namespace Recurrent.Kernels;

/// <summary>
/// The pointwise half of a backward step for one row of units (PyTorch's layout: gate blocks of H side by side), from the
/// activated gates a training forward recorded. The derivatives are the cell's own (<see cref="ICell"/>: LSTM, GRU, RNN
/// tanh/relu, each in its file beside its forward); this class walks the units at the widest vector tier.
/// </summary>
internal static class GateGradients
{
    /// <summary>The cell's type for <paramref name="kind"/>, then the widest accelerated tier.</summary>
    /// <param name="kind">The cell.</param>
    /// <param name="units">How many units, from each reference on: H for a whole row, fewer for a worker's share.</param>
    /// <param name="hidden">H: the distance between gate blocks in the gates and gate gradients.</param>
    /// <param name="row">Where the row's gates, dh, recorded state and gate gradients are.</param>
    public static void Apply(CellKind kind, int units, int hidden, in GradientRow row)
    {
        var call = new Call(units, hidden, row);
        kind.Dispatch(ref call);
    }

    private static void Apply<TCell>(int units, int hidden, in GradientRow row)
        where TCell : ICell
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Apply<TCell, Simd512, Vector512<float>>(units, hidden, row);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Apply<TCell, Simd256, Vector256<float>>(units, hidden, row);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Apply<TCell, Simd128, Vector128<float>>(units, hidden, row);
        }
        else
        {
            ApplyScalar<TCell>(units, hidden, row);
        }
    }

    /// <summary>One vector tier; the units that do not fill a whole vector go through the cell's scalar body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Apply<TCell, TS, TV>(int units, int hidden, in GradientRow row)
        where TCell : ICell
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        int w = TS.Count;
        int vectorUnits = units - (units % w);
        for (int j = 0; j < vectorUnits; j += w)
        {
            TCell.Backward<TS, TV>(row, (nuint)j, (nuint)hidden);
        }

        for (int j = vectorUnits; j < units; j++)
        {
            TCell.Backward(row, j, hidden);
        }
    }

    /// <summary>The scalar tier (the cell's scalar body on every unit).</summary>
    internal static void ApplyScalar<TCell>(int units, int hidden, in GradientRow row)
        where TCell : ICell
    {
        for (int j = 0; j < units; j++)
        {
            TCell.Backward(row, j, hidden);
        }
    }

    private readonly ref struct Call(int units, int hidden, in GradientRow row) : ICellAction
    {
        private readonly GradientRow _row = row;

        public void Run<TCell>()
            where TCell : ICell => Apply<TCell>(units, hidden, _row);
    }
}
