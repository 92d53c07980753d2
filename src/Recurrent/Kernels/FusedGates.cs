using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Recurrent.Kernels.Cells;

namespace Recurrent.Kernels;

/// <summary>
/// The pointwise half of a step, run on one tile while it is in L1: the tile holds <c>h·W_hhᵀ</c> for up to 4 batch rows
/// and one panel (U hidden units × every gate, gate-major inside the panel); the input projection holds the pre-summed
/// biases in the same packed order. The cell's own type (<see cref="ICell"/>) says what happens to one vector of units;
/// this class walks the rows and the units. Units past <c>valid</c> (the last panel of a hidden size that is not a multiple
/// of U) go through the scalar tail and are never stored into the output. With <c>record</c> (a training forward), the
/// cell writes what its backward needs over the input projection (and GRU's <c>W_hn h + b_hn</c> over the tile's n block).
/// </summary>
internal static class FusedGates
{
    /// <summary>The cell's type for <paramref name="kind"/>, then the widest accelerated tier.</summary>
    public static void Apply(CellKind kind, in GateTile tile, bool record)
    {
        var call = new Call(tile, record);
        kind.Dispatch(ref call);
    }

    private static void Apply<TCell>(in GateTile tile, bool record)
        where TCell : ICell
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Apply<TCell, Simd512, Vector512<float>>(tile, record);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Apply<TCell, Simd256, Vector256<float>>(tile, record);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Apply<TCell, Simd128, Vector128<float>>(tile, record);
        }
        else
        {
            ApplyScalar<TCell>(tile, record);
        }
    }

    /// <summary>One vector tier; units from the first that does not fill a whole vector go through the cell's scalar body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Apply<TCell, TS, TV>(in GateTile tile, bool record)
        where TCell : ICell
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        int w = TS.Count, valid = tile.Valid;
        int vectorUnits = valid - (valid % w);
        nuint U = (nuint)tile.Unit;
        for (int r = 0; r < tile.Rows; r++)
        {
            GateRow row = tile.Row(r);
            for (int j = 0; j < vectorUnits; j += w)
            {
                TCell.Forward<TS, TV>(row, (nuint)j, U, record);
            }

            for (int j = vectorUnits; j < valid; j++)
            {
                TCell.Forward(row, j, tile.Unit, record);
            }
        }
    }

    /// <summary>The scalar tier (the cell's scalar body on every unit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ApplyScalar<TCell>(in GateTile tile, bool record)
        where TCell : ICell
    {
        for (int r = 0; r < tile.Rows; r++)
        {
            GateRow row = tile.Row(r);
            for (int j = 0; j < tile.Valid; j++)
            {
                TCell.Forward(row, j, tile.Unit, record);
            }
        }
    }

    private readonly ref struct Call(in GateTile tile, bool record) : ICellAction
    {
        private readonly GateTile _tile = tile;

        public void Run<TCell>()
            where TCell : ICell => Apply<TCell>(_tile, record);
    }
}

/// <summary>
/// Where a <see cref="FusedGates"/> call reads and writes: <see cref="Rows"/> rows of the tile (<see cref="TileStride"/>
/// floats apart, gate blocks <see cref="Unit"/> apart), <see cref="Valid"/> units of each, and each other buffer at unit 0
/// of its first row with its own row stride (see <see cref="GateRow"/> for what each holds).
/// </summary>
internal readonly ref struct GateTile
{
    /// <summary>Every buffer at unit 0 of the tile's first row.</summary>
    public readonly GateRow First;
    public readonly int Rows, Unit, Valid, TileStride;
    public readonly nint InputStride, CellStride, HPrevStride, HStride;

    public GateTile(int rows, int unit, int valid, ref float tile, int tileStride, ref float input, nint inputStride, ref float biasHN, ref float cell, nint cellStride, ref float hPrev, nint hPrevStride, ref float h, nint hStride)
    {
        (Rows, Unit, Valid, TileStride) = (rows, unit, valid, tileStride);
        (InputStride, CellStride, HPrevStride, HStride) = (inputStride, cellStride, hPrevStride, hStride);
        First = new GateRow(ref tile, ref input, ref biasHN, ref cell, ref hPrev, ref h);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public GateRow Row(int r) => new(
        ref Unsafe.Add(ref First.Tile, r * TileStride),
        ref Unsafe.Add(ref First.Input, r * InputStride),
        ref First.BiasHN,
        ref Unsafe.Add(ref First.Cell, r * CellStride),
        ref Unsafe.Add(ref First.HPrev, r * HPrevStride),
        ref Unsafe.Add(ref First.H, r * HStride));
}
