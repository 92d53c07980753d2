using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>The static description of a stack of recurrent layers: everything the driver needs except the weights.</summary>
/// <param name="Kind">Which cell: the only difference between RNN, LSTM and GRU here.</param>
/// <param name="InputSize">Features of the first layer's input.</param>
/// <param name="HiddenSize">H: width of the cell state and of every gate block.</param>
/// <param name="ProjSize">P: LSTM projection width, 0 for none.</param>
/// <param name="NumLayers">Stacked layers.</param>
/// <param name="NumDirections">1, or 2 when bidirectional.</param>
internal readonly record struct RecurrentSpec(CellKind Kind, int InputSize, int HiddenSize, int ProjSize, int NumLayers, int NumDirections)
{
    /// <summary>H_out: the width of h and of each direction's output.</summary>
    public int OutputSize => ProjSize > 0 ? ProjSize : HiddenSize;

    /// <summary>Rows of W_ih and W_hh: gates × H.</summary>
    public int GateSize => Kind.GateCount() * HiddenSize;

    /// <summary>Features of layer <paramref name="layer"/>'s input.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : OutputSize * NumDirections;
}

/// <summary>The row-major weights of one (layer, direction), PyTorch's layout: W_ih (G×I), W_hh (G×H_out), b_ih, b_hh (G), W_hr (P×H).</summary>
internal sealed record LayerWeights(float[] WeightIH, float[] WeightHH, float[]? BiasIH, float[]? BiasHH, float[]? WeightHR);

/// <summary>
/// Runs a stack of recurrent layers the way PyTorch's CPU path does (RNN.cpp <c>apply_layer_stack</c>): per layer and
/// direction, the input projection of every step as one GEMM, then per step the recurrent product and the gate math,
/// fused tile by tile (<see cref="PanelKernels"/>, <see cref="FusedGates"/>). Rows may be time-major <c>(L, N, ·)</c> or
/// batch-first <c>(N, L, ·)</c>: step t's rows are found by index arithmetic, and h_t is written straight into the
/// output, where step t+1 reads it back as h_{t-1}. Dropout (training only) scales every layer's output but the last.
/// Threads: a layer runs on up to <see cref="Parallelism.NumThreads"/> workers; each worker owns a range of
/// panels (all gates of its hidden units, so its share of W_hh stays in its own cache) and one barrier ends each step;
/// bidirectional layers give each direction its own workers. A tile's sum is always computed whole by one worker, so
/// the bits are the same at every thread count.
/// Given a <see cref="BpttTape"/> (a training call, time-major rows), the same passes record what backpropagation needs:
/// the gate pass writes the activated gates back over the input projection in the tape's gate buffer, each tile keeps its
/// c_t / GRU <c>W_hn h + b_hn</c> / unprojected h, and every layer's output and dropout mask stay in the tape.
/// </summary>
internal static unsafe class LayerDriver
{
    /// <summary>Per-step work below this many multiply-adds runs on one thread: a barrier would cost more than it saves.</summary>
    private const long MinParallelStepWork = 40_000;

    /// <summary>Runs the stack.</summary>
    /// <param name="spec">The layers.</param>
    /// <param name="layers">Packed weights, index <c>layer * D + direction</c>.</param>
    /// <param name="input">Rows of I features, <c>(L, N, I)</c> or, when not <paramref name="timeMajor"/>, <c>(N, L, I)</c>.</param>
    /// <param name="seqLen">L ≥ 1.</param>
    /// <param name="batch">N ≥ 0.</param>
    /// <param name="timeMajor">The row layout of input and output.</param>
    /// <param name="h0">Initial h <c>(L*D, N, H_out)</c>, or empty for zeros.</param>
    /// <param name="c0">Initial c <c>(L*D, N, H)</c> (LSTM), or empty for zeros.</param>
    /// <param name="output">Receives the last layer's h at every step, same layout as the input, D*H_out wide.</param>
    /// <param name="hN">Receives <c>(L*D, N, H_out)</c>.</param>
    /// <param name="cN">Receives <c>(L*D, N, H)</c> (LSTM), otherwise empty.</param>
    /// <param name="dropout">Probability of zeroing an element between layers.</param>
    /// <param name="dropoutRandom">The mask source; <see langword="null"/> means no dropout (evaluation mode).</param>
    /// <param name="workspace">Scratch memory, grown as needed.</param>
    /// <param name="batchSizes">
    /// Packed input (<see cref="PackedSequence"/>): rows active at each step, non-increasing, summing to the input's rows;
    /// <paramref name="seqLen"/> is its length and <paramref name="batch"/> its first element. Empty for a padded batch.
    /// </param>
    /// <param name="sortedIndices">Packed input: the caller's batch index of each sorted row, by which h0/c0 are read and h_n/c_n written; empty for the identity.</param>
    /// <param name="tape"></param>
    public static void Forward(
        in RecurrentSpec spec,
        PackedLayer[] layers,
        ReadOnlySpan<float> input,
        int seqLen,
        int batch,
        bool timeMajor,
        ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0,
        Span<float> output,
        Span<float> hN,
        Span<float> cN,
        float dropout,
        Random? dropoutRandom,
        RecurrentWorkspace workspace,
        ReadOnlySpan<int> batchSizes = default,
        ReadOnlySpan<int> sortedIndices = default,
        BpttTape? tape = null)
    {
        int threads = ChooseThreads(spec, batch);
        int rows = workspace.SetSteps(seqLen, batch, batchSizes);
        workspace.Ensure(spec, rows, batch, threads);
        LayerJob job = workspace.Job!;
        int layerWidth = spec.NumDirections * spec.OutputSize;
        if (!sortedIndices.IsEmpty && !h0.IsEmpty)
        {
            // The kernels read a step's initial h as strided rows, so h0 is put in sorted order once (a few rows per layer).
            h0 = workspace.SortStates(h0, spec.NumLayers * spec.NumDirections, batch, spec.OutputSize, sortedIndices);
        }

        if (tape is not null)
        {
            tape.Begin(spec, layers, seqLen, batch, rows, workspace, h0, c0, sortedIndices);
        }

        fixed (float* pInput = input, pH0 = h0, pC0 = c0, pOutput = output, pHN = hN, pCN = cN)
        fixed (float* pLayerA = workspace.LayerA, pLayerB = workspace.LayerB)
        fixed (int* pPerm = sortedIndices)
        {
            float* layerInput = pInput;
            for (int layer = 0; layer < spec.NumLayers; layer++)
            {
                bool last = layer == spec.NumLayers - 1;
                if (tape is not null)
                {
                    // Recording: every layer writes its h into the tape, which keeps it as the next layer's h_{t-1} source.
                    fixed (float* pRecordIn = tape.LayerInputs[layer], pRecordOut = tape.LayerOutputs[layer])
                    {
                        job.Set(spec, layers, layer, seqLen, batch, rows, timeMajor, pRecordIn, pRecordOut, pH0, pC0, pHN, pCN, pPerm, workspace, tape);
                        Run(job, threads);
                    }

                    if (!last)
                    {
                        tape.Dropout(layer + 1, dropout, dropoutRandom);
                    }

                    continue;
                }

                float* layerOutput = last ? pOutput : (layer % 2 == 0 ? pLayerA : pLayerB);
                job.Set(spec, layers, layer, seqLen, batch, rows, timeMajor, layerInput, layerOutput, pH0, pC0, pHN, pCN, pPerm, workspace);
                Run(job, threads);
                if (!last && dropoutRandom is not null && dropout > 0f)
                {
                    Dropout.Apply(new Span<float>(layerOutput, rows * layerWidth), dropout, dropoutRandom);
                }

                layerInput = layerOutput;
            }

            job.Clear();
        }

        if (tape is not null && !output.IsEmpty)
        {
            tape.LayerOutputs[^1].AsSpan(0, rows * layerWidth).CopyTo(output);
        }
    }

    private static void Run(LayerJob job, int threads)
    {
        if (threads <= 1 || !WorkerPool.Shared.TryRun(job, threads))
        {
            job.Execute(0, 1);
        }
    }

    private static int ChooseThreads(in RecurrentSpec spec, int batch)
    {
        int threads = Math.Min(Parallelism.NumThreads, WorkerPool.Shared.MaxWorkers);
        long stepWork = (long)Math.Max(batch, 1) * spec.GateSize * spec.OutputSize * spec.NumDirections;
        if (threads <= 1 || stepWork < MinParallelStepWork)
        {
            return 1;
        }

        // A large batch is shared by rows (LayerJob.RowSplitMinRows per worker); otherwise no more workers per direction
        // than panels of hidden units to share out.
        int perDirection = spec.NumDirections == 2 ? Math.Max(1, threads / 2) : threads;
        if (batch >= LayerJob.RowSplitMinRows * perDirection)
        {
            return threads;
        }

        return Math.Min(threads, PackedLayer.PanelsFor(spec.Kind, spec.HiddenSize) * spec.NumDirections);
    }
}

/// <summary>One layer (both directions) as a parallel job; lives in the workspace and is re-aimed per layer, so calls allocate nothing.</summary>
internal sealed unsafe class LayerJob : IParallelJob
{
    /// <summary>Rows per worker from which a layer splits the batch instead of the hidden units (see RunDirection).</summary>
    internal static int RowSplitMinRows { get; set; } = 8;

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
        bool splitRows = size > 1 && batch >= RowSplitMinRows * size;
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
                    if (spec.Kind == CellKind.Lstm)
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
