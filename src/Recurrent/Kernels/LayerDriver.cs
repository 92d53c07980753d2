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
/// </summary>
internal static class LayerDriver
{
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
        RecurrentWorkspace workspace)
    {
        workspace.Ensure(spec, seqLen, batch, 1);
        int d = spec.NumDirections;
        int rows = seqLen * batch;
        int layerWidth = d * spec.OutputSize;

        ReadOnlySpan<float> layerInput = input;
        for (int layer = 0; layer < spec.NumLayers; layer++)
        {
            bool last = layer == spec.NumLayers - 1;
            Span<float> layerOutput = last ? output : (layer % 2 == 0 ? workspace.LayerA : workspace.LayerB).AsSpan(0, rows * layerWidth);
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                var job = new DirectionJob(spec, layers[index], direction, seqLen, batch, timeMajor, workspace, 0);
                job.InputProjection(layerInput, spec.LayerInputSize(layer));
                job.Run(
                    h0.IsEmpty ? default : h0.Slice(index * batch * spec.OutputSize, batch * spec.OutputSize),
                    c0.IsEmpty ? default : c0.Slice(index * batch * spec.HiddenSize, batch * spec.HiddenSize),
                    layerOutput,
                    hN.Slice(index * batch * spec.OutputSize, batch * spec.OutputSize),
                    spec.Kind == CellKind.Lstm ? cN.Slice(index * batch * spec.HiddenSize, batch * spec.HiddenSize) : default);
            }

            if (!last && dropoutRandom is not null && dropout > 0f)
            {
                Dropout.Apply(layerOutput, dropout, dropoutRandom);
            }

            layerInput = layerOutput;
        }
    }

    /// <summary>One direction of one layer: its slice of the workspace and the row arithmetic of the layout.</summary>
    private readonly ref struct DirectionJob
    {
        private readonly RecurrentSpec _spec;
        private readonly PackedLayer _w;
        private readonly int _direction;
        private readonly int _seqLen;
        private readonly int _batch;
        private readonly bool _timeMajor;
        private readonly Span<float> _gates;
        private readonly Span<float> _tile;
        private readonly Span<float> _cell;
        private readonly Span<float> _hiddenFull;
        private readonly ReadOnlySpan<float> _zeros;

        public DirectionJob(in RecurrentSpec spec, PackedLayer w, int direction, int seqLen, int batch, bool timeMajor, RecurrentWorkspace ws, int worker)
        {
            _spec = spec;
            _w = w;
            _direction = direction;
            _seqLen = seqLen;
            _batch = batch;
            _timeMajor = timeMajor;
            int rows = seqLen * batch;
            int paddedHidden = w.Panels * PackedLayer.Unit;
            _gates = ws.Gates.AsSpan(direction * rows * w.PackedGateSize, rows * w.PackedGateSize);
            _tile = ws.Tiles.AsSpan(worker * 4 * w.PanelWidth, 4 * w.PanelWidth);
            _cell = ws.Cell.AsSpan(direction * batch * paddedHidden, batch * paddedHidden);
            _hiddenFull = spec.ProjSize > 0 ? ws.HiddenFull.AsSpan(direction * batch * paddedHidden, batch * paddedHidden) : default;
            _zeros = ws.Zeros.AsSpan(0, batch * spec.OutputSize);
        }

        /// <summary>The first row of step t and the distance between its batch rows, in rows.</summary>
        private int RowBase(int t) => _timeMajor ? t * _batch : t;

        private int RowStride => _timeMajor ? 1 : _seqLen;

        /// <summary><c>gates[row] = x[row]·W_ihᵀ + (b_ih + b_hh)</c> for every row of the layer input, in packed column order.</summary>
        public void InputProjection(ReadOnlySpan<float> x, int inputSize)
        {
            int rows = _seqLen * _batch;
            int gp = _w.PackedGateSize;
            int pw = _w.PanelWidth;
            ref float a = ref MemoryMarshal.GetReference(x);
            ref float g = ref MemoryMarshal.GetReference(_gates);
            ref float wih = ref MemoryMarshal.GetArrayDataReference(_w.WeightIH);
            for (int p = 0; p < _w.Panels; p++)
            {
                ref float panel = ref Unsafe.Add(ref wih, p * inputSize * pw);
                for (int r0 = 0; r0 < rows; r0 += 4)
                {
                    int mr = Math.Min(4, rows - r0);
                    PanelKernels.Multiply(ref Unsafe.Add(ref a, r0 * inputSize), inputSize, mr, ref panel, inputSize, pw, ref Unsafe.Add(ref g, (r0 * gp) + (p * pw)), gp);
                }
            }

            ReadOnlySpan<float> bias = _w.Bias;
            for (int r = 0; r < rows; r++)
            {
                Span<float> row = _gates.Slice(r * gp, gp);
                TensorPrimitives.Add(row, bias, row);
            }
        }

        /// <summary>The time loop: h_t goes into <paramref name="output"/>; the final h and c into <paramref name="hN"/>, <paramref name="cN"/>.</summary>
        public void Run(ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> output, Span<float> hN, Span<float> cN)
        {
            int hOut = _spec.OutputSize;
            int hidden = _spec.HiddenSize;
            int paddedHidden = _w.Panels * PackedLayer.Unit;
            int layerWidth = _spec.NumDirections * hOut;
            int rowStride = RowStride;
            nint ldh = rowStride * layerWidth;
            nint ldig = rowStride * _w.PackedGateSize;

            _cell.Clear();
            if (!c0.IsEmpty)
            {
                for (int b = 0; b < _batch; b++)
                {
                    c0.Slice(b * hidden, hidden).CopyTo(_cell.Slice(b * paddedHidden, hidden));
                }
            }

            if (_spec.ProjSize > 0)
            {
                _hiddenFull.Clear();
            }

            ref float outBase = ref MemoryMarshal.GetReference(output);
            ref float hPrev = ref MemoryMarshal.GetReference(h0.IsEmpty ? _zeros : h0);
            nint ldhp = hOut;
            for (int step = 0; step < _seqLen; step++)
            {
                int t = _direction == 0 ? step : _seqLen - 1 - step;
                ref float dst = ref Unsafe.Add(ref outBase, (RowBase(t) * layerWidth) + (_direction * hOut));
                ref float ig = ref Unsafe.Add(ref MemoryMarshal.GetReference(_gates), RowBase(t) * _w.PackedGateSize);
                Step(ref hPrev, ldhp, ref ig, ldig, ref dst, ldh);
                hPrev = ref dst;
                ldhp = ldh;
            }

            for (int b = 0; b < _batch; b++)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref hPrev, b * ldhp), hOut).CopyTo(hN.Slice(b * hOut, hOut));
                if (_spec.Kind == CellKind.Lstm)
                {
                    _cell.Slice(b * paddedHidden, hidden).CopyTo(cN.Slice(b * hidden, hidden));
                }
            }
        }

        private void Step(ref float hPrev, nint ldhp, ref float ig, nint ldig, ref float dst, nint ldh)
        {
            PackedLayer w = _w;
            int pw = w.PanelWidth;
            int k = w.HiddenIn;
            int paddedHidden = w.Panels * PackedLayer.Unit;
            bool project = _spec.ProjSize > 0;
            ref float target = ref project ? ref MemoryMarshal.GetReference(_hiddenFull) : ref dst;
            nint ldt = project ? paddedHidden : ldh;
            ref float tile = ref MemoryMarshal.GetReference(_tile);
            ref float whh = ref MemoryMarshal.GetArrayDataReference(w.WeightHH);
            ref float cell = ref MemoryMarshal.GetReference(_cell);
            ref float bhn = ref w.BiasHN is null ? ref tile : ref MemoryMarshal.GetArrayDataReference(w.BiasHN);
            for (int p = 0; p < w.Panels; p++)
            {
                ref float panel = ref Unsafe.Add(ref whh, p * k * pw);
                int valid = Math.Min(PackedLayer.Unit, w.Hidden - (p * PackedLayer.Unit));
                int unit0 = p * PackedLayer.Unit;
                for (int r0 = 0; r0 < _batch; r0 += 4)
                {
                    int mr = Math.Min(4, _batch - r0);
                    PanelKernels.Multiply(ref Unsafe.Add(ref hPrev, r0 * ldhp), ldhp, mr, ref panel, k, pw, ref tile, pw);
                    FusedGates.Apply(
                        w.Kind,
                        ref tile,
                        mr,
                        ref Unsafe.Add(ref ig, (r0 * ldig) + (p * pw)),
                        ldig,
                        ref Unsafe.Add(ref bhn, w.BiasHN is null ? 0 : unit0),
                        ref Unsafe.Add(ref cell, (r0 * paddedHidden) + unit0),
                        paddedHidden,
                        ref Unsafe.Add(ref hPrev, (r0 * ldhp) + unit0),
                        ldhp,
                        ref Unsafe.Add(ref target, (r0 * ldt) + unit0),
                        ldt,
                        valid);
                }
            }

            if (project)
            {
                Project(ref dst, ldh);
            }
        }

        /// <summary>LSTM with proj_size: <c>h = h_full·W_hrᵀ</c>, written to the output rows.</summary>
        private void Project(ref float dst, nint ldh)
        {
            PackedLayer w = _w;
            int paddedHidden = w.Panels * PackedLayer.Unit;
            ref float tile = ref MemoryMarshal.GetReference(_tile);
            ref float hFull = ref MemoryMarshal.GetReference(_hiddenFull);
            ref float whr = ref MemoryMarshal.GetArrayDataReference(w.WeightHR!);
            for (int p = 0; p < w.ProjPanels; p++)
            {
                int valid = Math.Min(PackedLayer.Unit, w.ProjSize - (p * PackedLayer.Unit));
                for (int r0 = 0; r0 < _batch; r0 += 4)
                {
                    int mr = Math.Min(4, _batch - r0);
                    PanelKernels.Multiply(
                        ref Unsafe.Add(ref hFull, r0 * paddedHidden), paddedHidden, mr, ref Unsafe.Add(ref whr, p * w.Hidden * PackedLayer.Unit), w.Hidden, PackedLayer.Unit, ref tile, PackedLayer.Unit);
                    for (int r = 0; r < mr; r++)
                    {
                        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref tile, r * PackedLayer.Unit), valid)
                            .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, ((r0 + r) * ldh) + (p * PackedLayer.Unit)), valid));
                    }
                }
            }
        }
    }
}
