using System;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Recurrent.Engine;
using Recurrent.Kernels;
using Recurrent.Kernels.Cells;

namespace Recurrent.Training;

/// <summary>
/// Backpropagation through time for a stack of RNN/LSTM/GRU layers, PyTorch's equations, from the tape the layer driver
/// recorded in a training forward (<see cref="BpttTape"/>): the backward pass walks the steps in reverse doing only the
/// recurrent product (one <see cref="DenseGemm"/> product of the active rows) and the elementwise derivatives
/// (<see cref="GateGradients"/>) per step, and forms the weight gradients and the input gradient after the time loop as
/// single large products over all T·N rows.
/// Rows are in the record's layout (<see cref="BpttTape.Row"/>: time-major, packed or batch-first by strides).
/// </summary>
internal static unsafe class Bptt
{
    /// <summary>
    /// Backward through the stack: from dL/d(output) <c>(T, N, D·H_out)</c> and dL/dh_n, dL/dc_n (empty for zeros), adds every
    /// parameter's gradient into <paramref name="grads"/> (per (layer, direction): W_ih, W_hh, b_ih, b_hh, W_hr) and writes
    /// dL/d(input), dL/dh0 and dL/dc0. The tape's own memory holds the record; <paramref name="scratch"/> (the module's) the
    /// temporaries of this pass.
    /// </summary>
    public static void Backward(
        in RecurrentSpec spec, LayerWeights[] weights, BpttTape tape, TrainingScratch scratch, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> gradHN, ReadOnlySpan<float> gradCN,
        LayerWeights[] grads, Span<float> gradInput, Span<float> gradH0, Span<float> gradC0)
    {
        if (spec.HiddenSize == 0 || tape.Batch == 0)
        {
            // A cell of no units has no gradient to pass on (its weights are (0, ·)), a call of no sequences none at all:
            // dL/d(input) stays zero.
            return;
        }

        int d = spec.NumDirections, rows = tape.TotalRows;
        var states = new StateGradients(gradHN, gradCN, gradH0, gradC0);
        tape.Unpack();
        ReadOnlySpan<float> gradLayerOutput = gradOutput;
        for (int layer = spec.NumLayers - 1; layer >= 0; layer--)
        {
            int inputSize = spec.LayerInputSize(layer);
            float[] gradLayerInput = scratch.Get(TrainingArray.GradLayerInput, layer, rows * inputSize, clear: true);
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                BackwardDirection(spec, tape, scratch, layer, direction, weights[index], grads[index], gradLayerOutput, states, gradLayerInput);
            }

            if (tape.Masks[layer] is float[] mask)
            {
                TensorPrimitives.Multiply(gradLayerInput, mask, gradLayerInput);
            }

            gradLayerOutput = gradLayerInput;
        }

        gradLayerOutput.CopyTo(gradInput);
    }

    /// <summary>
    /// One (layer, direction): the time loop from dL/d(this layer's output) <paramref name="gradOutput"/> and the direction's
    /// dL/dh_n, dL/dc_n; then dL/d(layer input) added into <paramref name="gradInput"/>, the weight gradients into
    /// <paramref name="grad"/>, and dL/dh0, dL/dc0 written.
    /// </summary>
    private static void BackwardDirection(
        in RecurrentSpec spec, BpttTape tape, TrainingScratch scratch, int layer, int direction, LayerWeights w, LayerWeights grad, ReadOnlySpan<float> gradOutput, in StateGradients states, float[] gradInput)
    {
        int hidden = spec.HiddenSize, hOut = spec.OutputSize, g = spec.GateSize, rows = tape.TotalRows, seqLen = tape.SeqLen, batch = tape.Batch;
        int index = (layer * spec.NumDirections) + direction, inputSize = spec.LayerInputSize(layer), outWidth = spec.NumDirections * hOut;
        float[] x = tape.LayerInputs[layer];
        DirectionTape dir = tape.Directions[index];
        StateGradients own = states.Of(index, batch, hOut, spec.Cell.HasCellState ? hidden : 0);
        ReadOnlySpan<float> gradHN = own.GradHN, gradCN = own.GradCN;
        Span<float> gradH0 = own.GradH0, gradC0 = own.GradC0;
        bool project = spec.ProjSize > 0;

        // Gate gradients of every step: input side (W_ih, b_ih, dx) and hidden side (W_hh, b_hh, dh); they differ only for GRU's n.
        float[] gi = scratch.Get(TrainingArray.GateGradsInput, index, rows * g, clear: false);
        float[] gh = spec.Cell.KeepsHiddenGate ? scratch.Get(TrainingArray.GateGradsHidden, index, rows * g, clear: false) : gi;
        float[] dh = scratch.Get(TrainingArray.Dh, index, batch * hOut, clear: true), dc = scratch.Get(TrainingArray.Dc, index, batch * hidden, clear: true);
        float[] dhNext = scratch.Get(TrainingArray.DhNext, index, batch * hOut, clear: false);
        float[] dhf = scratch.Get(TrainingArray.DhFull, index, batch * hidden, clear: false);
        float[] dhAll = project ? scratch.Get(TrainingArray.DhAll, index, rows * hOut, clear: false) : [];
        PackedLayer.BackwardOperands operands = tape.Layer(index).Backward;
        PackedMatrix whh = operands.WeightHH;
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
                Whr = operands.WeightHR,
                Whh = whh,
                GradH0 = pGradH0,
                GradC0 = pGradC0,
            };

            // Rows are independent in the time loop: a large batch is shared by rows, each worker running every step of its
            // own rows with no barrier. A small batch is shared by hidden units (panels of W_hh's columns), one barrier a
            // step, so each worker streams only its share of W_hh. With a projection, dh_full needs all of dh: rows only.
            int threads = ThreadPolicy.MaxThreads;
            if (project)
            {
                threads = Math.Min(threads, batch / ThreadPolicy.RowSplitMinRows);
            }
            else if (batch >= ThreadPolicy.RowSplitMinRows * 2)
            {
                threads = Math.Min(threads, batch / ThreadPolicy.RowSplitMinRows);
            }
            else
            {
                threads = (long)batch * g * hOut < ThreadPolicy.MinParallelStepWork ? 1 : Math.Min(threads, whh.Panels);
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
        float[] hPrevAll = scratch.Get(TrainingArray.HPrevRows, index, rows * hOut, clear: false);
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

        DenseGemm.Multiply(gi, rows, g, operands.WeightIH, gradInput, inputSize, accumulate: true);
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
            DenseGemm.Multiply(gates.Transposed(), g, rows, scratch.Pack(TrainingArray.WeightGradA, slot, a.AsSpan(0, rows * k), rows, k), w, k, accumulate: true);
            for (int r = 0; bias is not null && r < rows; r++)
            {
                TensorPrimitives.Add(bias, gates.Plain.AsSpan(r * g, g), bias);
            }

            return;
        }

        float[] aT = scratch.Get(TrainingArray.WeightGradATransposed, slot, (k + 1) * rows, clear: false);
        DenseGemm.Transpose(a.AsSpan(0, rows * k), rows, k, aT);
        aT.AsSpan(k * rows, rows).Fill(1f);
        float[] product = scratch.Get(TrainingArray.WeightGradProduct, slot, (k + 1) * g, clear: false);
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
                _transposed = scratch.Get(TrainingArray.GatesTransposed, slot, rows * width, clear: false);
                DenseGemm.Transpose(plain.AsSpan(0, rows * width), rows, width, _transposed);
            }

            return _transposed;
        }

        public PackedMatrix PackedByRows() => _packed ??= scratch.Pack(TrainingArray.GatesPacked, slot, plain.AsSpan(0, rows * width), rows, width);
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

        /// <inheritdoc/>
        public void Abort() => Barrier.Break();

        public void Execute(int worker, int workers)
        {
            if (ByColumns)
            {
                int panels = Whh.Panels, width = Whh.PanelWidth;
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
                    if (spec.Cell.HasCellState)
                    {
                        // LSTM: c_t, c_{t-1}, and dL/dc carried from the step after.
                        aux = ref dir.Cells[(row * hidden) + n0];
                        prevState = ref first ? ref dir.C0[(b * hidden) + n0] : ref dir.Cells[(tape.Row(prev, b) * hidden) + n0];
                        dcOrDirect = ref dc[(b * hidden) + n0];
                    }
                    else if (spec.Cell.KeepsHiddenGate)
                    {
                        // GRU: W_hn h + b_hn, h_{t-1}, and the direct part of dL/dh_{t-1}.
                        aux = ref dir.HiddenNew[(row * hidden) + n0];
                        prevState = ref MemoryMarshal.GetReference(first ? dir.H0.AsSpan((b * hidden) + n0, units) : dir.HiddenRow(tape.Row(prev, b), hidden)[n0..]);
                        dcOrDirect = ref next[0];
                    }

                    GateGradients.Apply(
                        kind, units, hidden, new GradientRow(ref dir.Gates[(row * g) + n0], ref dhUnits[0], ref aux, ref prevState, ref dcOrDirect, ref gi[(row * g) + n0], ref gh[(row * g) + n0]));
                }

                Barrier.SignalAndWait();
                if (active > 0)
                {
                    DenseGemm.MultiplyPanels(tape.RowsAt(gh, t, 0, active, g), active, g * tape.RowStride, Whh, dhNext, hidden, p0, p1);
                }

                (dh, dhNext) = (dhNext, dh);
            }

            for (int b = 0; b < batch; b++)
            {
                dh.AsSpan((b * hidden) + n0, units).CopyTo(new Span<float>(GradH0 + (b * hidden) + n0, units));
                if (spec.Cell.HasCellState)
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
                    for (int b = rs; b < end; b++)
                    {
                        dh.AsSpan(b * hOut, hOut).CopyTo(DhAll.AsSpan(tape.Row(t, b) * hOut));
                    }

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
                    if (spec.Cell.HasCellState)
                    {
                        aux = ref dir.Cells[row * hidden];
                        prevState = ref first ? ref dir.C0[b * hidden] : ref dir.Cells[tape.Row(prev, b) * hidden];
                        dcOrDirect = ref dc[b * hidden];
                    }
                    else if (spec.Cell.KeepsHiddenGate)
                    {
                        aux = ref dir.HiddenNew[row * hidden];
                        prevState = ref MemoryMarshal.GetReference(hPrev);
                        dcOrDirect = ref dhNext[b * hOut];
                    }

                    GateGradients.Apply(
                        kind,
                        hidden,
                        hidden,
                        new GradientRow(ref dir.Gates[row * g], ref MemoryMarshal.GetReference(dhIn), ref aux, ref prevState, ref dcOrDirect, ref gi[row * g], ref gh[row * g]));
                }

                // dh_{t-1} = (hidden-side gate gradients) · W_hh (+ GRU's direct z·dh) for these rows, one product.
                if (end > rs)
                {
                    DenseGemm.Multiply(
                        tape.RowsAt(gh, t, rs, end - rs, g), end - rs, g * tape.RowStride, Whh, dhNext.AsSpan(rs * hOut), hOut, accumulate: true, parallel: parallelProducts);
                }

                (dh, dhNext) = (dhNext, dh);
            }

            dh.AsSpan(rs * hOut, (re - rs) * hOut).CopyTo(new Span<float>(GradH0 + (rs * hOut), (re - rs) * hOut));
            if (spec.Cell.HasCellState)
            {
                dc.AsSpan(rs * hidden, (re - rs) * hidden).CopyTo(new Span<float>(GradC0 + (rs * hidden), (re - rs) * hidden));
            }
        }
    }

    /// <summary>dL/dh_n and dL/dc_n (empty for zeros) in, dL/dh0 and dL/dc0 out, each <c>(L·D, N, ·)</c> or one (layer, direction)'s slice.</summary>
    private readonly ref struct StateGradients(ReadOnlySpan<float> gradHN, ReadOnlySpan<float> gradCN, Span<float> gradH0, Span<float> gradC0)
    {
        public readonly ReadOnlySpan<float> GradHN = gradHN, GradCN = gradCN;
        public readonly Span<float> GradH0 = gradH0, GradC0 = gradC0;

        /// <summary>The slices of (layer, direction) <paramref name="index"/>; c's are empty when <paramref name="hidden"/> is 0 (no cell state).</summary>
        public StateGradients Of(int index, int batch, int hOut, int hidden) => new(
            GradHN.IsEmpty ? default : GradHN.Slice(index * batch * hOut, batch * hOut),
            GradCN.IsEmpty || hidden == 0 ? default : GradCN.Slice(index * batch * hidden, batch * hidden),
            GradH0.Slice(index * batch * hOut, batch * hOut),
            hidden == 0 ? default : GradC0.Slice(index * batch * hidden, batch * hidden));
    }
}
