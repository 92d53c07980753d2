using System;
using System.Collections.Generic;

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
/// Runs a stack of recurrent layers over a time-major sequence, the way PyTorch's CPU path does
/// (RNN.cpp <c>apply_layer_stack</c> / <c>FullLayer</c>): per layer and direction, the input projection of the whole
/// sequence as one GEMM (<c>X·W_ihᵀ + b_ih</c>), then per step <c>h·W_hhᵀ + b_hh</c> and the fused gate pass.
/// Dropout (training only) scales every layer's output but the last.
/// </summary>
internal static class LayerDriver
{
    /// <summary>Runs the stack.</summary>
    /// <param name="spec">The layers.</param>
    /// <param name="weights">One entry per (layer, direction), index <c>layer * D + direction</c>.</param>
    /// <param name="input">Time-major <c>(T, B, I)</c>.</param>
    /// <param name="seqLen">T ≥ 1.</param>
    /// <param name="batch">B ≥ 0.</param>
    /// <param name="h0">Initial h <c>(L*D, B, H_out)</c>, or empty for zeros.</param>
    /// <param name="c0">Initial c <c>(L*D, B, H)</c> (LSTM), or empty for zeros.</param>
    /// <param name="output">Receives <c>(T, B, D*H_out)</c>.</param>
    /// <param name="hN">Receives <c>(L*D, B, H_out)</c>.</param>
    /// <param name="cN">Receives <c>(L*D, B, H)</c> (LSTM), otherwise empty.</param>
    /// <param name="dropout">Probability of zeroing an element between layers.</param>
    /// <param name="dropoutRandom">The mask source; <see langword="null"/> means no dropout (evaluation mode).</param>
    public static void Forward(
        in RecurrentSpec spec,
        IReadOnlyList<LayerWeights> weights,
        ReadOnlySpan<float> input,
        int seqLen,
        int batch,
        ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0,
        Span<float> output,
        Span<float> hN,
        Span<float> cN,
        float dropout,
        Random? dropoutRandom)
    {
        int d = spec.NumDirections;
        int hOut = spec.OutputSize;
        int hidden = spec.HiddenSize;
        int rows = seqLen * batch;
        int layerWidth = d * hOut;

        // Workspace: sized once per call from the shapes alone.
        var igates = new float[rows * spec.GateSize];
        var hgates = new float[batch * spec.GateSize];
        var h = new float[batch * hOut];
        var c = spec.Kind == CellKind.Lstm ? new float[batch * hidden] : [];
        var hFull = spec.ProjSize > 0 ? new float[batch * hidden] : h;
        float[] bufferA = spec.NumLayers > 1 ? new float[rows * layerWidth] : [];
        float[] bufferB = spec.NumLayers > 2 ? new float[rows * layerWidth] : [];

        ReadOnlySpan<float> layerInput = input;
        for (int layer = 0; layer < spec.NumLayers; layer++)
        {
            bool last = layer == spec.NumLayers - 1;
            Span<float> layerOutput = last ? output : (layer % 2 == 0 ? bufferA : bufferB);
            int inputSize = spec.LayerInputSize(layer);
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                LayerWeights w = weights[index];
                Gemm.MultiplyTransposed(layerInput, w.WeightIH, w.BiasIH, igates, rows, spec.GateSize, inputSize);

                int hStateOffset = index * batch * hOut;
                if (h0.IsEmpty)
                {
                    Array.Clear(h);
                }
                else
                {
                    h0.Slice(hStateOffset, batch * hOut).CopyTo(h);
                }

                int cStateOffset = index * batch * hidden;
                if (spec.Kind == CellKind.Lstm)
                {
                    if (c0.IsEmpty)
                    {
                        Array.Clear(c);
                    }
                    else
                    {
                        c0.Slice(cStateOffset, batch * hidden).CopyTo(c);
                    }
                }

                for (int step = 0; step < seqLen; step++)
                {
                    int t = direction == 0 ? step : seqLen - 1 - step;
                    Step(spec, w, igates.AsSpan(t * batch * spec.GateSize, batch * spec.GateSize), hgates, h, c, hFull, batch);
                    for (int b = 0; b < batch; b++)
                    {
                        h.AsSpan(b * hOut, hOut).CopyTo(layerOutput.Slice((((t * batch) + b) * layerWidth) + (direction * hOut), hOut));
                    }
                }

                h.CopyTo(hN.Slice(hStateOffset, batch * hOut));
                if (spec.Kind == CellKind.Lstm)
                {
                    c.CopyTo(cN.Slice(cStateOffset, batch * hidden));
                }
            }

            if (!last && dropoutRandom is not null && dropout > 0f)
            {
                Dropout.Apply(layerOutput[..(rows * layerWidth)], dropout, dropoutRandom);
            }

            layerInput = layerOutput[..(rows * layerWidth)];
        }
    }

    /// <summary>One time step of one direction for the whole batch: <c>h</c> (and <c>c</c>) advance in place.</summary>
    private static void Step(in RecurrentSpec spec, LayerWeights w, ReadOnlySpan<float> igates, Span<float> hgates, Span<float> h, Span<float> c, Span<float> hFull, int batch)
    {
        int hOut = spec.OutputSize;
        int hidden = spec.HiddenSize;
        Gemm.MultiplyTransposed(h, w.WeightHH, w.BiasHH, hgates, batch, spec.GateSize, hOut);
        switch (spec.Kind)
        {
            case CellKind.Lstm:
                Gates.Lstm(hgates, igates, c, hFull, batch, hidden);
                if (w.WeightHR is not null)
                {
                    Gemm.MultiplyTransposed(hFull, w.WeightHR, ReadOnlySpan<float>.Empty, h, batch, hOut, hidden);
                }

                break;
            case CellKind.Gru:
                Gates.Gru(hgates, igates, h, batch, hidden);
                break;
            default:
                Gates.Rnn(hgates, igates, h, batch, hidden, spec.Kind == CellKind.RnnRelu);
                break;
        }
    }
}
