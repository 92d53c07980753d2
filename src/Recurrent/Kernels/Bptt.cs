using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>What one (layer, direction) of a training forward keeps for its backward pass, indexed by time-major row.</summary>
internal sealed class DirectionTape
{
    /// <summary>
    /// The layer driver's gate buffer <c>(rows, packed gates)</c>: the input projection, activated in place by the gate pass
    /// (<see cref="FusedGates"/> with record), in <see cref="PackedLayer"/>'s column order; <see cref="BpttTape.Unpack"/>
    /// turns it into <see cref="Gates"/>.
    /// </summary>
    public float[] PackedGates = [];

    /// <summary><c>(rows, gates·H)</c> after the activations, PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n; RNN h.</summary>
    public float[] Gates = [];

    /// <summary>LSTM: c_t, <c>(rows, H)</c>.</summary>
    public float[] Cells = [];

    /// <summary>LSTM with proj_size: the unprojected h_t, <c>(rows, H)</c>.</summary>
    public float[] HiddenFull = [];

    /// <summary>GRU: <c>W_hn h_{t-1} + b_hn</c>, <c>(rows, H)</c>.</summary>
    public float[] HiddenNew = [];

    /// <summary>h_t: row r at <c>r·HiddenStride + HiddenOffset</c> (the layer's output, this direction's half).</summary>
    public float[] Hidden = [];

    public int HiddenStride;

    public int HiddenOffset;

    /// <summary>h0 and c0 of this layer and direction, <c>(N, H_out)</c> and <c>(N, H)</c>, rows in the tape's (sorted) order.</summary>
    public float[] H0 = [], C0 = [];

    public int HiddenSize;

    public ReadOnlySpan<float> HiddenRow(int row, int width) => Hidden.AsSpan((row * HiddenStride) + HiddenOffset, width);

    /// <summary>
    /// Called by the layer driver after the gate pass of one tile (rows <paramref name="row"/>.., units
    /// <paramref name="unit0"/>..): keeps what the running buffers will overwrite at the next step: c_t, a GRU's
    /// <c>W_hn h + b_hn</c> (left in the tile's n block) and the unprojected h_t.
    /// </summary>
    public void Keep(int row, int rows, int unit0, int valid, ref float cell, nint ldCell, ref float tile, int tileStride, int unit, ref float hiddenFull, nint ldFull)
    {
        int h = HiddenSize;
        for (int r = 0; r < rows; r++)
        {
            int at = ((row + r) * h) + unit0;
            if (Cells.Length > 0)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cell, (r * ldCell) + unit0), valid).CopyTo(Cells.AsSpan(at, valid));
            }

            if (HiddenNew.Length > 0)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref tile, (r * tileStride) + (2 * unit)), valid).CopyTo(HiddenNew.AsSpan(at, valid));
            }

            if (HiddenFull.Length > 0)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref hiddenFull, (r * ldFull) + unit0), valid).CopyTo(HiddenFull.AsSpan(at, valid));
            }
        }
    }
}

/// <summary>A training forward's record: every layer's input (after dropout) and output, the dropout masks and each direction's tape.</summary>
internal sealed class BpttTape
{
    public int SeqLen;
    public int Batch;

    /// <summary>Rows active at each step (the batch, or a packed sequence's batch sizes) and where each step's rows begin.</summary>
    public int[] StepRows = [], StepOffsets = [];

    public int TotalRows => StepOffsets.Length == 0 ? 0 : StepOffsets[^1] + StepRows[^1];

    /// <summary>The row of sequence b at step t.</summary>
    public int Row(int t, int b) => StepOffsets[t] + b;

    /// <summary>Whether sequence b starts at step t from its initial state: step 0 going forward; going backward, its own last step.</summary>
    public bool StartsAt(int t, int b, int direction) => direction == 0 ? t == 0 : t + 1 >= SeqLen || b >= StepRows[t + 1];

    /// <summary>The step whose row holds sequence b's h_n: its last step going forward, step 0 backward.</summary>
    public int FinalStep(int b, int direction)
    {
        if (direction == 1)
        {
            return 0;
        }

        int t = SeqLen - 1;
        while (StepRows[t] <= b)
        {
            t--;
        }

        return t;
    }

    /// <summary>Per layer: its input, time-major (layer 0: the caller's input; then the previous output after dropout).</summary>
    public float[][] LayerInputs = [];

    /// <summary>Per layer: its output <c>(rows, D·H_out)</c> before dropout.</summary>
    public float[][] LayerOutputs = [];

    /// <summary>Per layer: the dropout scale of each element of that layer's input (0 or 1/(1-p)), or null.</summary>
    public float[]?[] Masks = [];
    public DirectionTape[] Directions = [];

    private PackedLayer[] _packed = [];
    private TrainingScratch _scratch = new();
    private bool _unpacked;

    /// <summary>
    /// A tape whose first layer reads <paramref name="input"/> (time-major rows, kept as they are: the caller's own copy) and
    /// whose arrays come from <paramref name="scratch"/> (a module's, reused by its next training call).
    /// </summary>
    public static BpttTape For(float[] input, TrainingScratch scratch) => new() { LayerInputs = [input], _scratch = scratch };

    /// <summary>The module's scratch, for the backward pass that consumes this tape.</summary>
    public TrainingScratch Scratch => _scratch;

    /// <summary>The forward's packing of (layer, direction) <paramref name="index"/>: a new object whenever the weights change.</summary>
    public PackedLayer Layer(int index) => _packed[index];

    /// <summary>Sizes the record for one driver call (called by <see cref="LayerDriver.Forward"/>; h0 already in sorted order).</summary>
    public void Begin(in RecurrentSpec spec, PackedLayer[] layers, int seqLen, int batch, int rows, RecurrentWorkspace ws, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, ReadOnlySpan<int> sortedIndices)
    {
        int d = spec.NumDirections, hOut = spec.OutputSize, hidden = spec.HiddenSize;
        SeqLen = seqLen;
        Batch = batch;
        StepRows = ws.StepRows.AsSpan(0, seqLen).ToArray();
        StepOffsets = ws.StepOffsets.AsSpan(0, seqLen).ToArray();
        _packed = layers;
        float[] input = LayerInputs[0];
        LayerInputs = new float[spec.NumLayers][];
        LayerInputs[0] = input;
        LayerOutputs = new float[spec.NumLayers][];
        Masks = new float[spec.NumLayers][];
        Directions = new DirectionTape[spec.NumLayers * d];
        for (int layer = 0; layer < spec.NumLayers; layer++)
        {
            LayerOutputs[layer] = _scratch.Get("tape.output", layer, rows * d * hOut, clear: false);
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                var dir = new DirectionTape
                {
                    HiddenSize = hidden,
                    PackedGates = _scratch.Get("tape.packedGates", index, rows * layers[index].PackedGateSize, clear: false),
                    Hidden = LayerOutputs[layer],
                    HiddenStride = d * hOut,
                    HiddenOffset = direction * hOut,
                    Cells = spec.Kind == CellKind.Lstm ? _scratch.Get("tape.cells", index, rows * hidden, clear: false) : [],
                    HiddenNew = spec.Kind == CellKind.Gru ? _scratch.Get("tape.hiddenNew", index, rows * hidden, clear: false) : [],
                    HiddenFull = spec.ProjSize > 0 ? _scratch.Get("tape.hiddenFull", index, rows * hidden, clear: false) : [],
                    H0 = _scratch.Get("tape.h0", index, batch * hOut, clear: h0.IsEmpty),
                    C0 = spec.Kind != CellKind.Lstm ? [] : _scratch.Get("tape.c0", index, batch * hidden, clear: c0.IsEmpty),
                };
                if (!h0.IsEmpty)
                {
                    h0.Slice(index * batch * hOut, batch * hOut).CopyTo(dir.H0);
                }

                if (!c0.IsEmpty && spec.Kind == CellKind.Lstm)
                {
                    for (int b = 0; b < batch; b++)
                    {
                        int from = sortedIndices.IsEmpty ? b : sortedIndices[b];
                        c0.Slice(((index * batch) + from) * hidden, hidden).CopyTo(dir.C0.AsSpan(b * hidden, hidden));
                    }
                }

                Directions[index] = dir;
            }
        }
    }

    /// <summary>The input of layer <paramref name="layer"/>: the previous layer's output, through a recorded dropout mask when one applies.</summary>
    public void Dropout(int layer, float p, Random? random)
    {
        float[] previous = LayerOutputs[layer - 1];
        if (random is null || p <= 0f)
        {
            LayerInputs[layer] = previous;
            return;
        }

        float[] mask = _scratch.Get("tape.mask", layer, previous.Length, clear: false);
        mask.AsSpan().Fill(1f);
        Kernels.Dropout.Apply(mask, p, random);
        float[] dropped = _scratch.Get("tape.dropped", layer, previous.Length, clear: false);
        TensorPrimitives.Multiply(previous, mask, dropped);
        Masks[layer] = mask;
        LayerInputs[layer] = dropped;
    }

    /// <summary>Puts every direction's recorded gates into PyTorch's column order (<see cref="DirectionTape.Gates"/>).</summary>
    public void Unpack()
    {
        if (_unpacked)
        {
            return;
        }

        _unpacked = true;
        int rows = TotalRows;
        for (int index = 0; index < Directions.Length; index++)
        {
            DirectionTape dir = Directions[index];

            PackedLayer w = _packed[index];
            int h = w.Hidden, g = w.Gates, u = w.Unit, gp = w.PackedGateSize;
            float[] plain = _scratch.Get("tape.gates", index, rows * g * h, clear: false);
            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<float> packedRow = dir.PackedGates.AsSpan(r * gp, gp);
                Span<float> plainRow = plain.AsSpan(r * g * h, g * h);
                for (int p = 0; p < w.Panels; p++)
                {
                    int valid = Math.Min(u, h - (p * u));
                    for (int gate = 0; gate < g; gate++)
                    {
                        packedRow.Slice((p * w.PanelWidth) + (gate * u), valid).CopyTo(plainRow.Slice((gate * h) + (p * u), valid));
                    }
                }
            }

            dir.Gates = plain;
        }
    }
}

/// <summary>
/// Backpropagation through time for a stack of RNN/LSTM/GRU layers, PyTorch's equations, from the tape the layer driver
/// recorded in a training forward (<see cref="BpttTape"/>): the backward pass walks the steps in reverse doing only the
/// recurrent product (one <see cref="DenseGemm"/> product of the active rows) and the elementwise derivatives
/// (<see cref="GateGradients"/>) per step, and forms the weight gradients and the input gradient after the time loop as
/// single large products over all T·N rows.
/// Rows are time-major <c>(T, N, ·)</c>.
/// </summary>
internal static unsafe class Bptt
{
    /// <summary>Per-step work below this many multiply-adds runs on one thread (as in <see cref="LayerDriver"/>).</summary>
    private const long MinParallelStepWork = 40_000;

    /// <summary>
    /// Backward through the stack: from dL/d(output) <c>(T, N, D·H_out)</c> and dL/dh_n, dL/dc_n (empty for zeros), adds every
    /// parameter's gradient into <paramref name="grads"/> (per (layer, direction): W_ih, W_hh, b_ih, b_hh, W_hr) and writes
    /// dL/d(input), dL/dh0 and dL/dc0.
    /// </summary>
    public static void Backward(
        in RecurrentSpec spec, LayerWeights[] weights, BpttTape tape, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> gradHN, ReadOnlySpan<float> gradCN,
        LayerWeights[] grads, Span<float> gradInput, Span<float> gradH0, Span<float> gradC0)
    {
        int d = spec.NumDirections, hOut = spec.OutputSize, hidden = spec.HiddenSize;
        int batch = tape.Batch, rows = tape.TotalRows;
        TrainingScratch scratch = tape.Scratch;
        tape.Unpack();
        ReadOnlySpan<float> gradLayerOutput = gradOutput;
        for (int layer = spec.NumLayers - 1; layer >= 0; layer--)
        {
            int inputSize = spec.LayerInputSize(layer);
            float[] gradLayerInput = scratch.Get("bwd.gradInput", layer, rows * inputSize, clear: true);
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                BackwardDirection(
                    spec,
                    scratch,
                    index,
                    weights[index],
                    grads[index],
                    inputSize,
                    tape.LayerInputs[layer],
                    tape.Directions[index],
                    tape,
                    direction,
                    gradLayerOutput,
                    d * hOut,
                    gradHN.IsEmpty ? default : gradHN.Slice(index * batch * hOut, batch * hOut),
                    gradCN.IsEmpty ? default : gradCN.Slice(index * batch * hidden, batch * hidden),
                    gradLayerInput,
                    gradH0.Slice(index * batch * hOut, batch * hOut),
                    spec.Kind == CellKind.Lstm ? gradC0.Slice(index * batch * hidden, batch * hidden) : default);
            }

            if (tape.Masks[layer] is float[] mask)
            {
                TensorPrimitives.Multiply(gradLayerInput, mask, gradLayerInput);
            }

            gradLayerOutput = gradLayerInput;
        }

        gradLayerOutput.CopyTo(gradInput);
    }

    private static void BackwardDirection(
        in RecurrentSpec spec,
        TrainingScratch scratch,
        int index,
        LayerWeights w,
        LayerWeights grad,
        int inputSize,
        float[] x,
        DirectionTape dir,
        BpttTape tape,
        int direction,
        ReadOnlySpan<float> gradOutput,
        int outWidth,
        ReadOnlySpan<float> gradHN,
        ReadOnlySpan<float> gradCN,
        float[] gradInput,
        Span<float> gradH0,
        Span<float> gradC0)
    {
        CellKind kind = spec.Kind;
        int hidden = spec.HiddenSize, hOut = spec.OutputSize, g = spec.GateSize, rows = tape.TotalRows, seqLen = tape.SeqLen, batch = tape.Batch;
        bool project = spec.ProjSize > 0;

        // Gate gradients of every step: input side (W_ih, b_ih, dx) and hidden side (W_hh, b_hh, dh); they differ only for GRU's n.
        float[] gi = scratch.Get("bwd.gi", index, rows * g, clear: false);
        float[] gh = kind == CellKind.Gru ? scratch.Get("bwd.gh", index, rows * g, clear: false) : gi;
        float[] dh = scratch.Get("bwd.dh", index, batch * hOut, clear: true), dc = scratch.Get("bwd.dc", index, batch * hidden, clear: true);
        float[] dhNext = scratch.Get("bwd.dhNext", index, batch * hOut, clear: false);
        float[] dhf = scratch.Get("bwd.dhFull", index, batch * hidden, clear: false);
        float[] dhAll = project ? scratch.Get("bwd.dhAll", index, rows * hOut, clear: false) : [];
        PackedMatrix whh = scratch.PackWeights("bwd.whh", index, tape.Layer(index), w.WeightHH, g, hOut);
        if (!gradHN.IsEmpty)
        {
            gradHN.CopyTo(dh);
        }

        if (!gradCN.IsEmpty)
        {
            gradCN.CopyTo(dc);
        }

        fixed (float* pGradOutput = gradOutput, pGradH0 = gradH0, pGradC0 = gradC0)
        {
            var job = new StepJob
            {
                Spec = spec,
                W = w,
                Grad = grad,
                Dir = dir,
                Tape = tape,
                Direction = direction,
                GradOutput = pGradOutput,
                OutWidth = outWidth,
                Gi = gi,
                Gh = gh,
                Dh = dh,
                Dc = dc,
                DhNext = dhNext,
                DhFull = dhf,
                DhAll = dhAll,
                Whr = project ? scratch.PackWeights("bwd.whr", index, tape.Layer(index), w.WeightHR!, hOut, hidden) : null,
                Whh = whh,
                GradH0 = pGradH0,
                GradC0 = pGradC0,
            };

            // Rows are independent in the time loop: a large batch is shared by rows, each worker running every step of its
            // own rows with no barrier. A small batch is shared by hidden units (panels of W_hh's columns), one barrier a
            // step, so each worker streams only its share of W_hh. With a projection, dh_full needs all of dh: rows only.
            int threads = Math.Min(Parallelism.NumThreads, WorkerPool.Shared.MaxWorkers);
            if (project)
            {
                threads = Math.Min(threads, batch / LayerJob.RowSplitMinRows);
            }
            else if (batch >= LayerJob.RowSplitMinRows * 2)
            {
                threads = Math.Min(threads, batch / LayerJob.RowSplitMinRows);
            }
            else
            {
                threads = (long)batch * g * hOut < MinParallelStepWork ? 1 : Math.Min(threads, whh.Panels);
                job.ByColumns = threads > 1;
                job.Barrier = threads > 1 ? new SpinBarrier(threads) : SpinBarrier.Alone;
            }

            if (threads <= 1 || !WorkerPool.Shared.TryRun(job, threads))
            {
                job.ByColumns = false;
                job.Execute(0, 1);
            }
        }

        // After the loop, the large products over all T·N rows: dX += Gi·W_ih, dW_ih += Giᵀ·X, dW_hh += Ghᵀ·H_prev, biases.
        float[] hPrevAll = scratch.Get("bwd.hPrev", index, rows * hOut, clear: false);
        for (int step = 0; step < seqLen; step++)
        {
            int t = direction == 0 ? step : seqLen - 1 - step;
            int prev = direction == 0 ? t - 1 : t + 1;
            for (int b = 0; b < tape.StepRows[t]; b++)
            {
                (tape.StartsAt(t, b, direction) ? dir.H0.AsSpan(b * hOut, hOut) : dir.HiddenRow(tape.Row(prev, b), hOut))
                    .CopyTo(hPrevAll.AsSpan(tape.Row(t, b) * hOut, hOut));
            }
        }

        DenseGemm.Multiply(gi, rows, g, scratch.PackWeights("bwd.wih", index, tape.Layer(index), w.WeightIH, g, inputSize), gradInput, inputSize, accumulate: true);
        if (project)
        {
            // dW_hr += dHᵀ·H_full over every row: the same shape of product as the other weight gradients.
            AddWeightGradient(scratch, (2 * spec.NumLayers * spec.NumDirections) + index, new GateLayouts(scratch, (2 * spec.NumLayers * spec.NumDirections) + index, dhAll, rows, hOut), dir.HiddenFull, hidden, grad.WeightHR!, null);
        }

        // Re-laid at most once each, and once for both sides when they are the same gradients (LSTM, RNN).
        var giLaid = new GateLayouts(scratch, 2 * index, gi, rows, g);
        GateLayouts ghLaid = ReferenceEquals(gh, gi) ? giLaid : new GateLayouts(scratch, (2 * index) + 1, gh, rows, g);
        AddWeightGradient(scratch, 2 * index, giLaid, x, inputSize, grad.WeightIH, grad.BiasIH);
        AddWeightGradient(scratch, (2 * index) + 1, ghLaid, hPrevAll, hOut, grad.WeightHH, grad.BiasHH);
    }

    /// <summary>
    /// <c>W (G, K) += Gᵀ·A</c> and <c>b += Σ_rows G</c> for gate gradients G <c>(rows, G)</c> and the layer's A <c>(rows, K)</c>,
    /// in the orientation that re-lays the smaller operand: few rows (T·N ≤ K, a small batch) form Gᵀ and accumulate
    /// straight into W; many rows take G packed by rows, form <c>[Aᵀ; 1]·G</c>, whose last row is the bias gradient, and
    /// add the rest transposed.
    /// </summary>
    private static void AddWeightGradient(TrainingScratch scratch, int slot, GateLayouts gates, float[] a, int k, float[] w, float[]? bias)
    {
        int rows = gates.Rows, g = gates.Width;
        if (rows <= k)
        {
            DenseGemm.Multiply(gates.Transposed(), g, rows, scratch.Pack("bwd.a", slot, a.AsSpan(0, rows * k), rows, k), w, k, accumulate: true);
            for (int r = 0; bias is not null && r < rows; r++)
            {
                TensorPrimitives.Add(bias, gates.Plain.AsSpan(r * g, g), bias);
            }

            return;
        }

        float[] aT = scratch.Get("bwd.aT", slot, (k + 1) * rows, clear: false);
        DenseGemm.Transpose(a.AsSpan(0, rows * k), rows, k, aT);
        aT.AsSpan(k * rows, rows).Fill(1f);
        float[] product = scratch.Get("bwd.product", slot, (k + 1) * g, clear: false);
        DenseGemm.Multiply(aT, k + 1, rows, gates.PackedByRows(), product, g, accumulate: false);
        DenseGemm.AddTransposed(product.AsSpan(0, k * g), k, g, w);
        if (bias is not null)
        {
            TensorPrimitives.Add(bias, product.AsSpan(k * g, g), bias);
        }
    }

    /// <summary>Gate gradients <c>(rows, G)</c> and, made on first use, their transpose and their row-packed form.</summary>
    private sealed class GateLayouts(TrainingScratch scratch, int slot, float[] plain, int rows, int width)
    {
        private float[]? _transposed;
        private PackedMatrix? _packed;

        public float[] Plain => plain;

        public int Rows => rows;

        public int Width => width;

        public float[] Transposed()
        {
            if (_transposed is null)
            {
                _transposed = scratch.Get("bwd.gatesT", slot, rows * width, clear: false);
                DenseGemm.Transpose(plain.AsSpan(0, rows * width), rows, width, _transposed);
            }

            return _transposed;
        }

        public PackedMatrix PackedByRows() => _packed ??= scratch.Pack("bwd.gatesPacked", slot, plain.AsSpan(0, rows * width), rows, width);
    }

    /// <summary>The backward time loop of one (layer, direction) for a share of the batch rows; writes dL/dh0 and dL/dc0 of its rows.</summary>
    private sealed unsafe class StepJob : IParallelJob
    {
        public RecurrentSpec Spec;
        public LayerWeights W = null!;
        public LayerWeights Grad = null!;
        public DirectionTape Dir = null!;
        public BpttTape Tape = null!;
        public int Direction;
        public float* GradOutput;
        public int OutWidth;
        public float[] Gi = [], Gh = [], Dh = [], Dc = [], DhNext = [], DhFull = [], DhAll = [];
        public PackedMatrix? Whr;
        public PackedMatrix Whh = null!;
        public float* GradH0;
        public float* GradC0;
        public bool ByColumns;
        public SpinBarrier Barrier = SpinBarrier.Alone;

        public void Execute(int worker, int workers)
        {
            if (ByColumns)
            {
                int panels = Whh.Panels, width = PackedMatrix.Width;
                int p0 = (panels * worker) / workers, p1 = (panels * (worker + 1)) / workers;
                RunColumns(p0, p1, Math.Min(Spec.OutputSize, p0 * width), Math.Min(Spec.OutputSize, p1 * width));
                return;
            }

            int batch = Tape.Batch;
            int blocks = (batch + 3) / 4;
            int rs = Math.Min(batch, 4 * ((blocks * worker) / workers)), re = Math.Min(batch, 4 * ((blocks * (worker + 1)) / workers));
            if (re > rs)
            {
                Run(rs, re, parallelProducts: workers == 1);
            }
        }

        /// <summary>
        /// Every row, hidden units [n0, n1) (no projection, so H_out = H): the gate derivatives of these units, a barrier (the
        /// product needs every unit's gate gradients), then dh_{t-1}'s columns [n0, n1) from W_hh's panels [p0, p1). The next
        /// step reads only those columns, so one barrier a step is enough.
        /// </summary>
        private void RunColumns(int p0, int p1, int n0, int n1)
        {
            RecurrentSpec spec = Spec;
            CellKind kind = spec.Kind;
            int hidden = spec.HiddenSize, g = spec.GateSize, seqLen = Tape.SeqLen, direction = Direction, batch = Tape.Batch, units = n1 - n0;
            DirectionTape dir = Dir;
            BpttTape tape = Tape;
            float[] gi = Gi, gh = Gh, dh = Dh, dc = Dc, dhNext = DhNext;
            var gradOutput = new ReadOnlySpan<float>(GradOutput, tape.TotalRows * OutWidth);
            for (int step = seqLen - 1; step >= 0; step--)
            {
                int t = direction == 0 ? step : seqLen - 1 - step;
                int prev = direction == 0 ? t - 1 : t + 1;
                int active = tape.StepRows[t];
                for (int b = 0; b < batch; b++)
                {
                    Span<float> next = dhNext.AsSpan((b * hidden) + n0, units);
                    if (b >= active)
                    {
                        // Not running at this step: the gradient waits as it is.
                        dh.AsSpan((b * hidden) + n0, units).CopyTo(next);
                        continue;
                    }

                    next.Clear();
                    int row = tape.Row(t, b);
                    bool first = tape.StartsAt(t, b, direction);
                    Span<float> dhUnits = dh.AsSpan((b * hidden) + n0, units);
                    TensorPrimitives.Add(dhUnits, gradOutput.Slice((row * OutWidth) + (direction * hidden) + n0, units), dhUnits);
                    ref float aux = ref dhUnits[0], prevState = ref dhUnits[0], dcOrDirect = ref dhUnits[0];
                    switch (kind)
                    {
                        case CellKind.Lstm:
                            aux = ref dir.Cells[(row * hidden) + n0];
                            prevState = ref first ? ref dir.C0[(b * hidden) + n0] : ref dir.Cells[(tape.Row(prev, b) * hidden) + n0];
                            dcOrDirect = ref dc[(b * hidden) + n0];
                            break;

                        case CellKind.Gru:
                            aux = ref dir.HiddenNew[(row * hidden) + n0];
                            prevState = ref MemoryMarshal.GetReference(first ? dir.H0.AsSpan((b * hidden) + n0, units) : dir.HiddenRow(tape.Row(prev, b), hidden)[n0..]);
                            dcOrDirect = ref next[0];
                            break;
                    }

                    GateGradients.Apply(
                        kind, units, hidden, ref dir.Gates[(row * g) + n0], ref dhUnits[0], ref aux, ref prevState, ref dcOrDirect, ref gi[(row * g) + n0], ref gh[(row * g) + n0]);
                }

                Barrier.SignalAndWait();
                if (active > 0)
                {
                    DenseGemm.MultiplyPanels(gh.AsSpan(tape.Row(t, 0) * g, active * g), active, g, Whh, dhNext, hidden, p0, p1);
                }

                (dh, dhNext) = (dhNext, dh);
            }

            for (int b = 0; b < batch; b++)
            {
                dh.AsSpan((b * hidden) + n0, units).CopyTo(new Span<float>(GradH0 + (b * hidden) + n0, units));
                if (kind == CellKind.Lstm)
                {
                    dc.AsSpan((b * hidden) + n0, units).CopyTo(new Span<float>(GradC0 + (b * hidden) + n0, units));
                }
            }
        }

        private void Run(int rs, int re, bool parallelProducts)
        {
            RecurrentSpec spec = Spec;
            CellKind kind = spec.Kind;
            int hidden = spec.HiddenSize, hOut = spec.OutputSize, g = spec.GateSize, seqLen = Tape.SeqLen, direction = Direction;
            bool project = spec.ProjSize > 0;
            DirectionTape dir = Dir;
            BpttTape tape = Tape;
            float[] gi = Gi, gh = Gh, dh = Dh, dc = Dc, dhNext = DhNext, dhf = DhFull;
            var gradOutput = new ReadOnlySpan<float>(GradOutput, tape.TotalRows * OutWidth);
            for (int step = seqLen - 1; step >= 0; step--)
            {
                int t = direction == 0 ? step : seqLen - 1 - step;
                int prev = direction == 0 ? t - 1 : t + 1;
                int end = Math.Min(re, tape.StepRows[t]);

                // Sequences not running at this step keep their gradient as it is (waiting for their last step, or final).
                if (end > rs)
                {
                    dhNext.AsSpan(rs * hOut, (end - rs) * hOut).Clear();
                }

                int idle = Math.Max(rs, end);
                dh.AsSpan(idle * hOut, (re - idle) * hOut).CopyTo(dhNext.AsSpan(idle * hOut));
                for (int b = rs; b < end; b++)
                {
                    Span<float> dhRow = dh.AsSpan(b * hOut, hOut);
                    TensorPrimitives.Add(dhRow, gradOutput.Slice((tape.Row(t, b) * OutWidth) + (direction * hOut), hOut), dhRow);
                }

                if (project && end > rs)
                {
                    // h = W_hr h_full: dh_full = dh·W_hr for these rows in one product; dh is kept for dW_hr after the loop.
                    dh.AsSpan(rs * hOut, (end - rs) * hOut).CopyTo(DhAll.AsSpan(tape.Row(t, rs) * hOut));
                    DenseGemm.Multiply(dh.AsSpan(rs * hOut, (end - rs) * hOut), end - rs, hOut, Whr!, dhf.AsSpan(rs * hidden), hidden, accumulate: false, parallel: false);
                }

                for (int b = rs; b < end; b++)
                {
                    int row = tape.Row(t, b);
                    bool first = tape.StartsAt(t, b, direction);
                    Span<float> dhRow = dh.AsSpan(b * hOut, hOut);
                    ReadOnlySpan<float> hPrev = first ? dir.H0.AsSpan(b * hOut, hOut) : dir.HiddenRow(tape.Row(prev, b), hOut);
                    ref float aux = ref dhf[0], prevState = ref dhf[0], dcOrDirect = ref dhf[0];
                    ReadOnlySpan<float> dhIn = project ? dhf.AsSpan(b * hidden, hidden) : dhRow;
                    switch (kind)
                    {
                        case CellKind.Lstm:
                            aux = ref dir.Cells[row * hidden];
                            prevState = ref first ? ref dir.C0[b * hidden] : ref dir.Cells[tape.Row(prev, b) * hidden];
                            dcOrDirect = ref dc[b * hidden];
                            break;

                        case CellKind.Gru:
                            aux = ref dir.HiddenNew[row * hidden];
                            prevState = ref MemoryMarshal.GetReference(hPrev);
                            dcOrDirect = ref dhNext[b * hOut];
                            break;
                    }

                    GateGradients.Apply(
                        kind,
                        hidden,
                        hidden,
                        ref dir.Gates[row * g],
                        ref MemoryMarshal.GetReference(dhIn),
                        ref aux,
                        ref prevState,
                        ref dcOrDirect,
                        ref gi[row * g],
                        ref gh[row * g]);
                }

                // dh_{t-1} = (hidden-side gate gradients) · W_hh (+ GRU's direct z·dh) for these rows, one product.
                if (end > rs)
                {
                    DenseGemm.Multiply(
                        gh.AsSpan(tape.Row(t, rs) * g, (end - rs) * g), end - rs, g, Whh, dhNext.AsSpan(rs * hOut), hOut, accumulate: true, parallel: parallelProducts);
                }

                (dh, dhNext) = (dhNext, dh);
            }

            dh.AsSpan(rs * hOut, (re - rs) * hOut).CopyTo(new Span<float>(GradH0 + (rs * hOut), (re - rs) * hOut));
            if (kind == CellKind.Lstm)
            {
                dc.AsSpan(rs * hidden, (re - rs) * hidden).CopyTo(new Span<float>(GradC0 + (rs * hidden), (re - rs) * hidden));
            }
        }
    }
}
