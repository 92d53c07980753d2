using System;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>What one (layer, direction) of a training forward keeps for its backward pass, indexed by time step t.</summary>
internal sealed class DirectionTape
{
    /// <summary><c>(T, N, gates·H)</c> after the activations: LSTM i, f, g, o; GRU r, z, n; RNN h.</summary>
    public float[] Gates = [];

    /// <summary>LSTM: c_t, <c>(T, N, H)</c>.</summary>
    public float[] Cells = [];

    /// <summary>LSTM with proj_size: the unprojected h_t, <c>(T, N, H)</c>.</summary>
    public float[] HiddenFull = [];

    /// <summary>GRU: <c>W_hn h_{t-1} + b_hn</c>, <c>(T, N, H)</c>.</summary>
    public float[] HiddenNew = [];

    /// <summary>h_t, <c>(T, N, H_out)</c>.</summary>
    public float[] Hidden = [];

    /// <summary>h0 and c0 of this layer and direction, <c>(N, H_out)</c> and <c>(N, H)</c>.</summary>
    public float[] H0 = [], C0 = [];
}

/// <summary>A training forward's record: every layer's input (after dropout), the dropout masks and each direction's tape.</summary>
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
    public float[][] LayerInputs = [];

    /// <summary>Per layer: the dropout scale of each element of that layer's input (0 or 1/(1-p)), or null.</summary>
    public float[]?[] Masks = [];
    public DirectionTape[] Directions = [];
}

/// <summary>
/// Backpropagation through time for a stack of RNN/LSTM/GRU layers, PyTorch's equations. The training forward runs the
/// plain math (row-by-weight-row dot products) and keeps what the backward pass needs; the backward pass walks the steps
/// in reverse doing only the recurrent product and the elementwise derivatives per step, and forms the weight
/// gradients and the input gradient after the time loop from the gate gradients of every step.
/// Rows are time-major <c>(T, N, ·)</c>.
/// </summary>
internal static class Bptt
{
    /// <summary>Runs the stack, fills <paramref name="output"/> <c>(T, N, D·H_out)</c>, h_n, c_n and returns the tape.</summary>
    public static BpttTape Forward(
        in RecurrentSpec spec, LayerWeights[] weights, ReadOnlySpan<float> input, int seqLen, int batch, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0,
        Span<float> output, Span<float> hN, Span<float> cN, float dropout, Random? dropoutRandom, ReadOnlySpan<int> batchSizes = default)
    {
        int d = spec.NumDirections, hOut = spec.OutputSize, hidden = spec.HiddenSize;
        int[] stepRows = new int[seqLen], stepOffsets = new int[seqLen];
        int rows = 0;
        for (int t = 0; t < seqLen; t++)
        {
            stepRows[t] = batchSizes.IsEmpty ? batch : batchSizes[t];
            stepOffsets[t] = rows;
            rows += stepRows[t];
        }

        var tape = new BpttTape
        {
            SeqLen = seqLen,
            Batch = batch,
            StepRows = stepRows,
            StepOffsets = stepOffsets,
            LayerInputs = new float[spec.NumLayers][],
            Masks = new float[spec.NumLayers][],
            Directions = new DirectionTape[spec.NumLayers * d],
        };
        float[] layerInput = input.ToArray();
        for (int layer = 0; layer < spec.NumLayers; layer++)
        {
            if (layer > 0 && dropoutRandom is not null && dropout > 0f)
            {
                float[] mask = new float[layerInput.Length];
                mask.AsSpan().Fill(1f);
                Dropout.Apply(mask, dropout, dropoutRandom);
                TensorPrimitives.Multiply(layerInput, mask, layerInput);
                tape.Masks[layer] = mask;
            }

            tape.LayerInputs[layer] = layerInput;
            float[] layerOutput = new float[rows * d * hOut];
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                var dir = new DirectionTape
                {
                    H0 = h0.IsEmpty ? new float[batch * hOut] : h0.Slice(index * batch * hOut, batch * hOut).ToArray(),
                    C0 = spec.Kind != CellKind.Lstm ? [] : c0.IsEmpty ? new float[batch * hidden] : c0.Slice(index * batch * hidden, batch * hidden).ToArray(),
                };
                tape.Directions[index] = dir;
                ForwardDirection(spec, weights[index], spec.LayerInputSize(layer), layerInput, tape, direction, dir, layerOutput, d * hOut);
                for (int b = 0; b < batch; b++)
                {
                    int row = tape.Row(tape.FinalStep(b, direction), b);
                    dir.Hidden.AsSpan(row * hOut, hOut).CopyTo(hN.Slice(((index * batch) + b) * hOut, hOut));
                    if (spec.Kind == CellKind.Lstm)
                    {
                        dir.Cells.AsSpan(row * hidden, hidden).CopyTo(cN.Slice(((index * batch) + b) * hidden, hidden));
                    }
                }
            }

            layerInput = layerOutput;
        }

        layerInput.CopyTo(output);
        return tape;
    }

    private static void ForwardDirection(
        in RecurrentSpec spec, LayerWeights w, int inputSize, float[] x, BpttTape tape, int direction, DirectionTape dir, float[] layerOutput, int outWidth)
    {
        CellKind kind = spec.Kind;
        int hidden = spec.HiddenSize, hOut = spec.OutputSize, g = spec.GateSize, seqLen = tape.SeqLen, rows = tape.TotalRows;
        dir.Gates = new float[rows * g];
        dir.Hidden = new float[rows * hOut];
        if (kind == CellKind.Lstm)
        {
            dir.Cells = new float[rows * hidden];
            dir.HiddenFull = spec.ProjSize > 0 ? new float[rows * hidden] : [];
        }

        if (kind == CellKind.Gru)
        {
            dir.HiddenNew = new float[rows * hidden];
        }

        // The input projection of every row at once, then per step the recurrent product of the active rows.
        float[] xwAll = new float[rows * g];
        DenseGemm.Multiply(x, rows, inputSize, PackedMatrix.FromTransposed(w.WeightIH, g, inputSize), xwAll, g, accumulate: false);
        AddBias(xwAll, rows, w.BiasIH);
        PackedMatrix whhT = PackedMatrix.FromTransposed(w.WeightHH, g, hOut);
        float[] hp = new float[tape.Batch * hOut], hwAll = new float[tape.Batch * g];
        for (int step = 0; step < seqLen; step++)
        {
            int t = direction == 0 ? step : seqLen - 1 - step;
            int prev = direction == 0 ? t - 1 : t + 1;
            int active = tape.StepRows[t];
            for (int b = 0; b < active; b++)
            {
                (tape.StartsAt(t, b, direction) ? dir.H0.AsSpan(b * hOut, hOut) : dir.Hidden.AsSpan(tape.Row(prev, b) * hOut, hOut)).CopyTo(hp.AsSpan(b * hOut, hOut));
            }

            DenseGemm.Multiply(hp, active, hOut, whhT, hwAll, g, accumulate: false);
            AddBias(hwAll, active, w.BiasHH);
            for (int b = 0; b < active; b++)
            {
                int row = tape.Row(t, b);
                bool first = tape.StartsAt(t, b, direction);
                ReadOnlySpan<float> hPrev = hp.AsSpan(b * hOut, hOut);
                ReadOnlySpan<float> xw = xwAll.AsSpan(row * g, g), hw = hwAll.AsSpan(b * g, g);
                Span<float> gates = dir.Gates.AsSpan(row * g, g);
                Span<float> h = dir.Hidden.AsSpan(row * hOut, hOut);
                switch (kind)
                {
                    case CellKind.Lstm:
                        {
                            ReadOnlySpan<float> cPrev = first ? dir.C0.AsSpan(b * hidden, hidden) : dir.Cells.AsSpan(tape.Row(prev, b) * hidden, hidden);
                            Span<float> c = dir.Cells.AsSpan(row * hidden, hidden);
                            Span<float> hf = spec.ProjSize > 0 ? dir.HiddenFull.AsSpan(row * hidden, hidden) : h;

                            // Vector gate math: i, f = σ, g = tanh, o = σ; c = f·c_prev + i·g; h = o·tanh(c).
                            TensorPrimitives.Add(xw, hw, gates);
                            TensorPrimitives.Sigmoid(gates[..(2 * hidden)], gates[..(2 * hidden)]);
                            TensorPrimitives.Tanh(gates.Slice(2 * hidden, hidden), gates.Slice(2 * hidden, hidden));
                            TensorPrimitives.Sigmoid(gates.Slice(3 * hidden, hidden), gates.Slice(3 * hidden, hidden));
                            TensorPrimitives.Multiply(gates.Slice(hidden, hidden), cPrev, c);
                            TensorPrimitives.MultiplyAdd(gates[..hidden], gates.Slice(2 * hidden, hidden), c, c);
                            TensorPrimitives.Tanh(c, hf);
                            TensorPrimitives.Multiply(hf, gates.Slice(3 * hidden, hidden), hf);

                            if (spec.ProjSize > 0)
                            {
                                MatVec(w.WeightHR!, hOut, hidden, hf, h);
                            }

                            break;
                        }

                    case CellKind.Gru:
                        {
                            Span<float> hn = dir.HiddenNew.AsSpan(row * hidden, hidden);
                            for (int j = 0; j < hidden; j++)
                            {
                                float r = Sigmoid(xw[j] + hw[j]);
                                float z = Sigmoid(xw[hidden + j] + hw[hidden + j]);
                                hn[j] = hw[(2 * hidden) + j];
                                float n = MathF.Tanh(xw[(2 * hidden) + j] + (r * hn[j]));
                                (gates[j], gates[hidden + j], gates[(2 * hidden) + j]) = (r, z, n);
                                h[j] = ((1f - z) * n) + (z * hPrev[j]);
                            }

                            break;
                        }

                    default:
                        for (int j = 0; j < hidden; j++)
                        {
                            float a = xw[j] + hw[j];
                            gates[j] = h[j] = kind == CellKind.RnnRelu ? MathF.Max(a, 0f) : MathF.Tanh(a);
                        }

                        break;
                }

                h.CopyTo(layerOutput.AsSpan((row * outWidth) + (direction * hOut), hOut));
            }
        }
    }

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
        float[] gradLayerOutput = gradOutput.ToArray();
        for (int layer = spec.NumLayers - 1; layer >= 0; layer--)
        {
            int inputSize = spec.LayerInputSize(layer);
            float[] gradLayerInput = new float[rows * inputSize];
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                BackwardDirection(
                    spec,
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
        LayerWeights w,
        LayerWeights grad,
        int inputSize,
        float[] x,
        DirectionTape dir,
        BpttTape tape,
        int direction,
        float[] gradOutput,
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
        float[] gi = new float[rows * g];
        float[] gh = kind == CellKind.Gru ? new float[rows * g] : gi;
        float[] dh = new float[batch * hOut], dc = new float[batch * hidden], dhNext = new float[batch * hOut];
        float[] dhf = new float[hidden];
        PackedMatrix whh = PackedMatrix.FromRows(w.WeightHH, g, hOut);
        if (!gradHN.IsEmpty)
        {
            gradHN.CopyTo(dh);
        }

        if (!gradCN.IsEmpty)
        {
            gradCN.CopyTo(dc);
        }

        for (int step = seqLen - 1; step >= 0; step--)
        {
            int t = direction == 0 ? step : seqLen - 1 - step;
            int prev = direction == 0 ? t - 1 : t + 1;
            int active = tape.StepRows[t];
            dhNext.AsSpan(0, active * hOut).Clear();

            // Sequences not running at this step keep their gradient as it is (waiting for their last step, or final).
            dh.AsSpan(active * hOut).CopyTo(dhNext.AsSpan(active * hOut));
            for (int b = 0; b < active; b++)
            {
                int row = tape.Row(t, b);
                bool first = tape.StartsAt(t, b, direction);
                Span<float> dhRow = dh.AsSpan(b * hOut, hOut);
                TensorPrimitives.Add(dhRow, gradOutput.AsSpan((row * outWidth) + (direction * hOut), hOut), dhRow);
                ReadOnlySpan<float> hPrev = first ? dir.H0.AsSpan(b * hOut, hOut) : dir.Hidden.AsSpan(tape.Row(prev, b) * hOut, hOut);
                ReadOnlySpan<float> gates = dir.Gates.AsSpan(row * g, g);
                Span<float> dGi = gi.AsSpan(row * g, g), dGh = gh.AsSpan(row * g, g);
                ref float aux = ref dhf[0], prevState = ref dhf[0], dcOrDirect = ref dhf[0];
                ReadOnlySpan<float> dhIn = dhRow;
                switch (kind)
                {
                    case CellKind.Lstm:
                        if (project)
                        {
                            // h = W_hr h_full: dW_hr += dh ⊗ h_full, dh_full = W_hrᵀ dh.
                            Outer(dhRow, dir.HiddenFull.AsSpan(row * hidden, hidden), grad.WeightHR!);
                            MatTVec(w.WeightHR!, hOut, hidden, dhRow, dhf);
                            dhIn = dhf;
                        }

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
                    ref MemoryMarshal.GetReference(gates),
                    ref MemoryMarshal.GetReference(dhIn),
                    ref aux,
                    ref prevState,
                    ref dcOrDirect,
                    ref MemoryMarshal.GetReference(dGi),
                    ref MemoryMarshal.GetReference(dGh));
            }

            // dh_{t-1} = (hidden-side gate gradients) · W_hh (+ GRU's direct z·dh) for the active rows, one product.
            DenseGemm.Multiply(gh.AsSpan(tape.Row(t, 0) * g, active * g), active, g, whh, dhNext, hOut, accumulate: true);
            (dh, dhNext) = (dhNext, dh);
        }

        dh.CopyTo(gradH0);
        if (kind == CellKind.Lstm)
        {
            dc.CopyTo(gradC0);
        }

        // After the loop, the large products over all T·N rows: dX += Gi·W_ih, dW_ih += Giᵀ·X, dW_hh += Ghᵀ·H_prev, biases.
        float[] hPrevAll = new float[rows * hOut];
        for (int step = 0; step < seqLen; step++)
        {
            int t = direction == 0 ? step : seqLen - 1 - step;
            int prev = direction == 0 ? t - 1 : t + 1;
            for (int b = 0; b < tape.StepRows[t]; b++)
            {
                (tape.StartsAt(t, b, direction) ? dir.H0.AsSpan(b * hOut, hOut) : dir.Hidden.AsSpan(tape.Row(prev, b) * hOut, hOut))
                    .CopyTo(hPrevAll.AsSpan(tape.Row(t, b) * hOut, hOut));
            }
        }

        DenseGemm.Multiply(gi, rows, g, PackedMatrix.FromRows(w.WeightIH, g, inputSize), gradInput, inputSize, accumulate: true);
        DenseGemm.Multiply(DenseGemm.Transpose(gi, rows, g), g, rows, PackedMatrix.FromRows(x, rows, inputSize), grad.WeightIH, inputSize, accumulate: true);
        DenseGemm.Multiply(DenseGemm.Transpose(gh, rows, g), g, rows, PackedMatrix.FromRows(hPrevAll, rows, hOut), grad.WeightHH, hOut, accumulate: true);
        if (grad.BiasIH is not null)
        {
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Add(grad.BiasIH, gi.AsSpan(r * g, g), grad.BiasIH);
                TensorPrimitives.Add(grad.BiasHH!, gh.AsSpan(r * g, g), grad.BiasHH!);
            }
        }
    }

    private static void AddBias(float[] values, int rows, float[]? bias)
    {
        if (bias is null)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            Span<float> row = values.AsSpan(r * bias.Length, bias.Length);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary><c>y = W·x</c> for W <c>(rows, cols)</c> row-major.</summary>
    private static void MatVec(float[] w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            y[r] = TensorPrimitives.Dot(w.AsSpan(r * cols, cols), x);
        }
    }

    /// <summary><c>y = Wᵀ·x</c> for W <c>(rows, cols)</c>: x has rows elements, y has cols.</summary>
    private static void MatTVec(float[] w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y)
    {
        y.Clear();
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.MultiplyAdd(w.AsSpan(r * cols, cols), x[r], y, y);
        }
    }

    /// <summary><c>W += a ⊗ b</c> for W <c>(a.Length, b.Length)</c>.</summary>
    private static void Outer(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float[] w)
    {
        for (int r = 0; r < a.Length; r++)
        {
            if (a[r] != 0f)
            {
                Span<float> row = w.AsSpan(r * b.Length, b.Length);
                TensorPrimitives.MultiplyAdd(b, a[r], row, row);
            }
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
