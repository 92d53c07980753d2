using System;
using Recurrent.Engine;
using Recurrent.Kernels.Formats;

namespace Recurrent;

/// <summary>
/// Scratch memory for a forward pass: the input projection of the whole sequence, the per-step tiles, the cell state
/// and the buffers between layers. Sized on first use and only ever grown, so repeated calls of the same shape allocate
/// nothing. Pass one to the span-based <c>Forward</c> overloads to control where the memory lives; one workspace serves
/// one call at a time (the tensor overloads keep a pool of their own, so concurrent calls are safe).
/// </summary>
public sealed class RecurrentWorkspace
{
    internal float[] Gates = [];
    internal float[] Tiles = [];
    internal float[] Cell = [];
    internal float[] HiddenFull = [];
    internal float[] Zeros = [];
    internal float[] LayerA = [];
    internal float[] LayerB = [];
    internal float[] StateCopy = [];
    internal float[] SortedH0 = [];

    /// <summary>A quantizing format's operands: per direction the input rows, then per worker the rows of h.</summary>
    internal float[] Quantized = [];
    internal long QuantizedInputStride;
    internal long QuantizedRowsStride;

    /// <summary>Rows active at each step (the batch, or a packed sequence's batch sizes).</summary>
    internal int[] StepRows = [];

    /// <summary>The row where each step's rows begin in a time-major layout.</summary>
    internal int[] StepOffsets = [];

    /// <summary>The steps each batch row runs.</summary>
    internal int[] RowLengths = [];
    private object? _job;
    /// <summary>The barrier of all workers, when they go through the directions together.</summary>
    internal SpinBarrier Together = SpinBarrier.Alone;

    /// <summary>One barrier per half of the workers, when the two directions run side by side.</summary>
    internal SpinBarrier[] Apart = [SpinBarrier.Alone, SpinBarrier.Alone];
    internal int BarrierWorkers = 1;
    internal int TileStride;

    /// <summary>The floats this workspace holds now.</summary>
    public long Capacity => (long)Gates.Length + Tiles.Length + Cell.Length + HiddenFull.Length + Zeros.Length + LayerA.Length + LayerB.Length + StateCopy.Length + SortedH0.Length + Quantized.Length;

    /// <summary>Records the rows of each step: <paramref name="batch"/> at every step, or the packed <paramref name="batchSizes"/>. Returns the total rows.</summary>
    internal int SetSteps(int seqLen, int batch, ReadOnlySpan<int> batchSizes)
    {
        GrowInts(ref StepRows, seqLen);
        GrowInts(ref StepOffsets, seqLen);
        GrowInts(ref RowLengths, batch);
        int total = 0;
        for (int t = 0; t < seqLen; t++)
        {
            int rows = batchSizes.IsEmpty ? batch : batchSizes[t];
            StepRows[t] = rows;
            StepOffsets[t] = total;
            total = checked(total + rows);
        }

        for (int b = 0, t = seqLen; b < batch; b++)
        {
            while (t > 0 && StepRows[t - 1] <= b)
            {
                t--;
            }

            RowLengths[b] = t;
        }

        return total;
    }

    /// <summary>Initial states <c>(numStates, N, width)</c> with rows in sorted order: row b is the caller's row <c>sortedIndices[b]</c>.</summary>
    internal ReadOnlySpan<float> SortStates(ReadOnlySpan<float> states, int numStates, int batch, int width, ReadOnlySpan<int> sortedIndices)
    {
        Grow(ref SortedH0, states.Length);
        Internals.StateOrder.Permute(states, SortedH0, numStates, batch, width, sortedIndices, toSorted: true);
        return SortedH0.AsSpan(0, states.Length);
    }

    internal void Ensure(in RecurrentSpec spec, long rows, int batch, int workers)
    {
        int unit = spec.Cell.Unit;
        int panels = PackedLayer.PanelsFor(spec.Cell, spec.HiddenSize);
        int paddedHidden = panels * unit;
        int gateWidth = Math.Max(spec.Cell.Gates * unit, PackedLayer.ProjUnit);
        int layerWidth = spec.NumDirections * spec.OutputSize;
        Grow(ref Gates, rows * panels * gateWidth * spec.NumDirections);
        TileStride = Math.Max(4, batch) * gateWidth;
        Grow(ref Tiles, (long)workers * TileStride);
        Grow(ref Cell, (long)spec.NumDirections * batch * paddedHidden);
        Grow(ref HiddenFull, spec.ProjSize > 0 ? (long)spec.NumDirections * batch * paddedHidden : 0);
        if (Zeros.Length < batch * spec.OutputSize)
        {
            Zeros = new float[batch * spec.OutputSize];
        }

        if (BarrierWorkers != workers || Together.IsBroken || Apart[0].IsBroken || Apart[1].IsBroken)
        {
            // Both layouts LayerJob.Execute may choose, so one workspace serves modules of either direction count.
            Together = new SpinBarrier(workers);
            Apart = [new SpinBarrier(workers / 2), new SpinBarrier(workers - (workers / 2))];
            BarrierWorkers = workers;
        }

        Grow(ref LayerA, spec.NumLayers > 1 ? rows * layerWidth : 0);
        Grow(ref LayerB, spec.NumLayers > 2 ? rows * layerWidth : 0);
    }

    /// <summary>
    /// Room for a quantizing format's operands: <paramref name="inputSlots"/> per input row and direction,
    /// <paramref name="rowSlots"/> per batch row and worker.
    /// </summary>
    internal void EnsureQuantized(in RecurrentSpec spec, long rows, int batch, int workers, int inputSlots, int rowSlots)
    {
        QuantizedInputStride = rows * inputSlots;
        QuantizedRowsStride = (long)batch * rowSlots;
        Grow(ref Quantized, (spec.NumDirections * QuantizedInputStride) + (workers * QuantizedRowsStride));
    }

    /// <summary>The layer job for weights stored in <typeparamref name="TFormat"/>: kept, so calls allocate nothing (a workspace
    /// passed between modules of different formats makes a new one at each change).</summary>
    internal LayerJob<TFormat> JobFor<TFormat>()
        where TFormat : struct, IWeightFormat
    {
        if (_job is not LayerJob<TFormat> job)
        {
            job = new LayerJob<TFormat>();
            _job = job;
        }

        return job;
    }

    /// <summary>A copy of a cell's h when the caller passes the same memory for h and h' (a step reads all of h while writing h').</summary>
    internal ReadOnlySpan<float> CopyState(ReadOnlySpan<float> state)
    {
        Grow(ref StateCopy, state.Length);
        state.CopyTo(StateCopy);
        return StateCopy.AsSpan(0, state.Length);
    }

    private static void GrowInts(ref int[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new int[length];
        }
    }

    private static void Grow(ref float[] buffer, long length)
    {
        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"a forward pass of this size needs a buffer of {length} floats, more than a .NET array holds");
        }

        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
    }
}
