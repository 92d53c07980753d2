using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Kernels;
using Recurrent.Training;

namespace Recurrent.Engine;

/// <summary>One layer (both directions) as a parallel job; lives in the workspace and is re-aimed per layer, so calls allocate nothing.</summary>
internal sealed unsafe class LayerJob : IParallelJob
{
    private RecurrentSpec _spec;
    private PackedLayer[] _layers = [];
    private int _layer;
    private int _seqLen;
    private int _batch;
    private int _rows;
    private bool _timeMajor;
    private float* _input;
    private float* _output;
    private float* _h0;
    private float* _c0;
    private float* _hN;
    private float* _cN;
    private int* _perm;
    private RecurrentWorkspace? _ws;
    private BpttTape? _tape;

    public void Set(
        in RecurrentSpec spec, PackedLayer[] layers, int layer, int seqLen, int batch, int rows, bool timeMajor, float* input, float* output, float* h0, float* c0, float* hN, float* cN, int* perm, RecurrentWorkspace ws, BpttTape? tape = null)
    {
        _tape = tape;
        _spec = spec;
        _layers = layers;
        _layer = layer;
        _seqLen = seqLen;
        _batch = batch;
        _rows = rows;
        _timeMajor = timeMajor;
        _input = input;
        _output = output;
        _h0 = h0;
        _c0 = c0;
        _hN = hN;
        _cN = cN;
        _perm = perm;
        _ws = ws;
    }

    /// <summary>Drops the pointers once the caller's memory is unpinned.</summary>
    public void Clear()
    {
        _input = _output = _h0 = _c0 = _hN = _cN = null;
        _perm = null;
        _layers = [];
        _tape = null;
    }

    public void Execute(int worker, int workers)
    {
        RecurrentWorkspace ws = _ws!;
        if (workers == 1)
        {
            // Also the fallback when the pool was busy: the workspace's barriers may be sized for more workers.
            for (int direction = 0; direction < _spec.NumDirections; direction++)
            {
                RunDirection(direction, 0, 1, SpinBarrier.Alone, 0);
            }

            return;
        }

        if (_spec.NumDirections == 2 && workers >= 2)
        {
            int firstGroup = workers / 2;
            bool reverse = worker >= firstGroup;
            RunDirection(reverse ? 1 : 0, reverse ? worker - firstGroup : worker, reverse ? workers - firstGroup : firstGroup, ws.Apart[reverse ? 1 : 0], worker);
            return;
        }

        for (int direction = 0; direction < _spec.NumDirections; direction++)
        {
            RunDirection(direction, worker, workers, ws.Together, worker);
        }
    }

    private static (int Start, int End) Share(int count, int rank, int size) => ((count * rank) / size, (count * (rank + 1)) / size);

    /// <summary>
    /// This worker's rows when the batch is split by rows: whole blocks of 4, balanced by the steps each row runs
    /// (a packed batch's rows are sorted longest first, so equal counts would leave the last workers idle).
    /// </summary>
    private static (int Start, int End) ShareRows(ReadOnlySpan<int> rowLengths, int rank, int size)
    {
        long total = 0;
        foreach (int length in rowLengths)
        {
            total += length;
        }

        long from = (total * rank) / size;
        long to = (total * (rank + 1)) / size;
        int start = -1;
        int end = rowLengths.Length;
        long done = 0;
        for (int b0 = 0; b0 < rowLengths.Length; b0 += 4)
        {
            if (start < 0 && done >= from)
            {
                start = b0;
            }

            if (done >= to && rank < size - 1)
            {
                end = b0;
                break;
            }

            for (int b = b0; b < Math.Min(b0 + 4, rowLengths.Length); b++)
            {
                done += rowLengths[b];
            }
        }

        return start < 0 ? (end, end) : (start, Math.Max(start, end));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunDirection(int direction, int rank, int size, SpinBarrier barrier, int slot)
    {
        RecurrentSpec spec = _spec;
        RecurrentWorkspace ws = _ws!;
        int index = (_layer * spec.NumDirections) + direction;
        PackedLayer w = _layers[index];
        int batch = _batch;
        int rows = _rows;
        int seqLen = _seqLen;
        int hOut = spec.OutputSize;
        int hidden = spec.HiddenSize;
        int paddedHidden = w.Panels * w.Unit;
        int gp = w.PackedGateSize;
        int pw = w.PanelWidth;
        int layerWidth = spec.NumDirections * hOut;
        int inputSize = spec.LayerInputSize(_layer);
        int rowStride = _timeMajor ? 1 : seqLen;
        nint ldh = rowStride * layerWidth;
        nint ldig = rowStride * gp;
        ReadOnlySpan<int> stepRows = ws.StepRows.AsSpan(0, seqLen);
        ReadOnlySpan<int> stepOffsets = ws.StepOffsets.AsSpan(0, seqLen);

        // A training forward keeps each direction's gates (activated in place by the gate pass) in the tape.
        DirectionTape? record = _tape?.Directions[index];
        ref float gates = ref record is not null
            ? ref MemoryMarshal.GetArrayDataReference(record.PackedGates)
            : ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.Gates), direction * rows * gp);
        ref float tile = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.Tiles), slot * ws.TileStride);
        ref float cell = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.Cell), direction * batch * paddedHidden);
        ref float hiddenFull = ref spec.ProjSize > 0
            ? ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.HiddenFull), direction * batch * paddedHidden)
            : ref cell;
        (int p0, int p1) = Share(w.Panels, rank, size);

        // The input projection of every row, this worker's panels: gates = x·W_ihᵀ + (b_ih + b_hh).
        int kc = PanelKernels.KBlock(pw);
        DenseGemm.MultiplyPanels(
            new ReadOnlySpan<float>(_input, rows * inputSize), rows, inputSize, w.WeightIH, MemoryMarshal.CreateSpan(ref gates, rows * gp), gp, p0, p1, accumulate: false);

        if (p1 > p0)
        {
            ReadOnlySpan<float> bias = w.Bias.AsSpan(p0 * pw, (p1 - p0) * pw);
            for (int r = 0; r < rows; r++)
            {
                Span<float> row = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref gates, (r * gp) + (p0 * pw)), bias.Length);
                TensorPrimitives.Add(row, bias, row);
            }
        }

        if (rank == 0)
        {
            MemoryMarshal.CreateSpan(ref cell, batch * paddedHidden).Clear();
            if (_c0 is not null)
            {
                for (int b = 0; b < batch; b++)
                {
                    new ReadOnlySpan<float>(_c0 + (((index * batch) + Caller(b)) * hidden), hidden).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref cell, b * paddedHidden), hidden));
                }
            }

            if (spec.ProjSize > 0)
            {
                MemoryMarshal.CreateSpan(ref hiddenFull, batch * paddedHidden).Clear();
            }
        }

        barrier.SignalAndWait();

        // A row's h_{t-1} is the previous step's output row, or its initial state at the step it starts: step 0 going
        // forward; going backward, the step at its own end (a packed batch shrinks, so rows join the reverse pass late).
        ref float hInit = ref _h0 is null
            ? ref MemoryMarshal.GetArrayDataReference(ws.Zeros)
            : ref Unsafe.AsRef<float>(_h0 + (index * batch * hOut));
        ref float hPrev = ref hInit;
        nint ldhp = hOut;
        ref float outBase = ref Unsafe.AsRef<float>(_output);
        bool project = spec.ProjSize > 0;
        ref float whh = ref MemoryMarshal.GetArrayDataReference(w.WeightHH.Data);
        ref float bhn = ref w.BiasHN is null ? ref tile : ref MemoryMarshal.GetArrayDataReference(w.BiasHN);
        // Large batch: each worker takes whole row blocks through every panel. A row's h_t depends only on its own h_{t-1},
        // so the time loop needs no barrier. Small batch: workers share the panels (hidden units) and meet every step.
        bool splitRows = size > 1 && batch >= ThreadPolicy.RowSplitMinRows * size;
        (int rs, int re) = (0, batch);
        (int sp0, int sp1) = (p0, p1);
        (int q0, int q1) = project ? Share(w.ProjPanels, rank, size) : (0, 0);
        if (splitRows)
        {
            (rs, re) = ShareRows(ws.RowLengths.AsSpan(0, batch), rank, size);
            (sp0, sp1) = (0, w.Panels);
            (q0, q1) = (0, project ? w.ProjPanels : 0);
        }

        for (int step = 0; step < seqLen; step++)
        {
            int t = direction == 0 ? step : seqLen - 1 - step;
            int active = stepRows[t];
            int carried = direction == 0 ? (step == 0 ? 0 : active) : (t + 1 < seqLen ? stepRows[t + 1] : 0);
            int rowBase = _timeMajor ? stepOffsets[t] : t;
            int end = Math.Min(re, active);
            ref float dst = ref Unsafe.Add(ref outBase, (rowBase * layerWidth) + (direction * hOut));
            ref float ig = ref Unsafe.Add(ref gates, rowBase * gp);
            ref float target = ref project ? ref hiddenFull : ref dst;
            nint ldt = project ? paddedHidden : ldh;
            int k = w.HiddenIn;
            bool blocked = end - rs > 4 && k > kc;
            for (int p = sp0; p < sp1; p++)
            {
                ref float panel = ref Unsafe.Add(ref whh, p * k * pw);
                int unit0 = p * w.Unit;
                int valid = Math.Min(w.Unit, hidden - unit0);

                // Two row segments: rows carried from the previous step, then rows starting here from their initial h.
                for (int segment = 0; segment < 2; segment++)
                {
                    ref float hp = ref segment == 0 ? ref hPrev : ref hInit;
                    nint ld = segment == 0 ? ldhp : hOut;
                    int from = segment == 0 ? rs : Math.Max(rs, carried);
                    int to = segment == 0 ? Math.Min(end, carried) : end;
                    if (blocked)
                    {
                        // Several row blocks share the panel: K-block it through L1, partial sums in this worker's C rows.
                        for (int k0 = 0; k0 < k; k0 += kc)
                        {
                            int kb = Math.Min(kc, k - k0);
                            for (int r0 = from; r0 < to; r0 += 4)
                            {
                                PanelKernels.Multiply(
                                    ref Unsafe.Add(ref hp, (r0 * ld) + k0), ld, Math.Min(4, to - r0), ref Unsafe.Add(ref panel, k0 * pw), kb, pw, ref Unsafe.Add(ref tile, (r0 - rs) * pw), pw, k0 > 0);
                            }
                        }
                    }

                    for (int r0 = from; r0 < to; r0 += 4)
                    {
                        int mr = Math.Min(4, to - r0);
                        ref float c = ref blocked ? ref Unsafe.Add(ref tile, (r0 - rs) * pw) : ref tile;
                        if (!blocked)
                        {
                            PanelKernels.Multiply(ref Unsafe.Add(ref hp, r0 * ld), ld, mr, ref panel, k, pw, ref c, pw);
                        }

                        FusedGates.Apply(
                            w.Kind,
                            new GateTile(
                                mr,
                                w.Unit,
                                valid,
                                ref c,
                                pw,
                                ref Unsafe.Add(ref ig, (r0 * ldig) + (p * pw)),
                                ldig,
                                ref Unsafe.Add(ref bhn, w.BiasHN is null ? 0 : unit0),
                                ref Unsafe.Add(ref cell, (r0 * paddedHidden) + unit0),
                                paddedHidden,
                                ref Unsafe.Add(ref hp, (r0 * ld) + unit0),
                                ld,
                                ref Unsafe.Add(ref target, (r0 * ldt) + unit0),
                                ldt),
                            record is not null);
                        if (record is not null)
                        {
                            record.Keep(rowBase + r0, mr, unit0, valid, ref Unsafe.Add(ref cell, r0 * paddedHidden), paddedHidden, ref c, pw, w.Unit, ref Unsafe.Add(ref target, r0 * ldt), ldt);
                        }
                    }
                }
            }

            if (!splitRows)
            {
                barrier.SignalAndWait();
            }

            if (project)
            {
                // h = h_full·W_hrᵀ for this worker's projection panels, straight into the output rows.
                if (end > rs)
                {
                    DenseGemm.MultiplyPanels(
                        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref hiddenFull, rs * paddedHidden), (end - rs) * paddedHidden),
                        end - rs,
                        paddedHidden,
                        w.WeightHR!,
                        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, rs * ldh), (int)(((end - rs - 1) * ldh) + hOut)),
                        (int)ldh,
                        q0,
                        q1,
                        accumulate: false);
                }
                if (!splitRows)
                {
                    barrier.SignalAndWait();
                }
            }

            hPrev = ref dst;
            ldhp = ldh;
        }

        if (rank == 0 || splitRows)
        {
            // Each row's h_n is its h at the last step it ran: going forward, where the batch shrinks past it; backward, step 0.
            int lastStep = direction == 0 ? seqLen : 1;
            for (int t = 0; t < lastStep; t++)
            {
                int next = direction == 0 && t + 1 < seqLen ? stepRows[t + 1] : 0;
                ref float final = ref Unsafe.Add(ref outBase, ((_timeMajor ? stepOffsets[t] : t) * layerWidth) + (direction * hOut));
                for (int b = Math.Max(rs, next); b < Math.Min(re, stepRows[t]); b++)
                {
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref final, b * ldh), hOut).CopyTo(new Span<float>(_hN + (((index * batch) + Caller(b)) * hOut), hOut));
                    if (spec.Cell.HasCellState)
                    {
                        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cell, b * paddedHidden), hidden).CopyTo(new Span<float>(_cN + (((index * batch) + Caller(b)) * hidden), hidden));
                    }
                }
            }
        }
    }

    /// <summary>The caller's batch index of sorted row <paramref name="b"/> (packed input with enforceSorted off).</summary>
    private int Caller(int b) => _perm is null ? b : _perm[b];
}
