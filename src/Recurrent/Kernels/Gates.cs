using System;
using System.Numerics.Tensors;

namespace Recurrent.Kernels;

/// <summary>
/// The pointwise part of one time step for a batch of rows, in PyTorch's CPU evaluation order (aten/src/ATen/native/RNN.cpp).
/// On entry <c>hgates</c> holds <c>h·W_hhᵀ + b_hh</c> and <c>igates</c> holds <c>x·W_ihᵀ + b_ih</c> for the step;
/// <c>hgates</c> is used as scratch. Activations are TensorPrimitives' vectorised Sigmoid and Tanh.
/// </summary>
internal static class Gates
{
    /// <summary>
    /// LSTM: <c>gates = hg + ig; i,f,g,o = chunk(4); i,f,o = σ; g = tanh; c' = (f*c) + (i*g); h' = o*tanh(c')</c>.
    /// <paramref name="h"/> receives <c>h'</c> (hidden wide, before any projection); <paramref name="c"/> is updated in place.
    /// </summary>
    public static void Lstm(Span<float> hgates, ReadOnlySpan<float> igates, Span<float> c, Span<float> h, int batch, int hidden)
    {
        if (hidden == 0)
        {
            return; // TensorPrimitives.Sigmoid refuses empty spans.
        }

        int g4 = 4 * hidden;
        for (int b = 0; b < batch; b++)
        {
            Span<float> gates = hgates.Slice(b * g4, g4);
            TensorPrimitives.Add(gates, igates.Slice(b * g4, g4), gates);
            Span<float> i = gates[..hidden];
            Span<float> f = gates.Slice(hidden, hidden);
            Span<float> g = gates.Slice(2 * hidden, hidden);
            Span<float> o = gates.Slice(3 * hidden, hidden);
            TensorPrimitives.Sigmoid(gates[..(2 * hidden)], gates[..(2 * hidden)]);
            TensorPrimitives.Tanh(g, g);
            TensorPrimitives.Sigmoid(o, o);
            Span<float> cRow = c.Slice(b * hidden, hidden);
            Span<float> hRow = h.Slice(b * hidden, hidden);
            TensorPrimitives.Multiply(f, cRow, cRow);
            TensorPrimitives.Multiply(i, g, i);
            TensorPrimitives.Add(cRow, i, cRow);
            TensorPrimitives.Tanh(cRow, hRow);
            TensorPrimitives.Multiply(o, hRow, hRow);
        }
    }

    /// <summary>
    /// GRU: <c>r = σ(hg_r + ig_r); z = σ(hg_z + ig_z); n = tanh(ig_n + r*hg_n); h' = (h - n)*z + n</c>,
    /// with <c>hg_n = W_hn h + b_hn</c> (the linear-before-reset form PyTorch uses). <paramref name="h"/> is updated in place.
    /// </summary>
    public static void Gru(Span<float> hgates, ReadOnlySpan<float> igates, Span<float> h, int batch, int hidden)
    {
        if (hidden == 0)
        {
            return;
        }

        int g3 = 3 * hidden;
        for (int b = 0; b < batch; b++)
        {
            Span<float> hg = hgates.Slice(b * g3, g3);
            ReadOnlySpan<float> ig = igates.Slice(b * g3, g3);
            Span<float> rz = hg[..(2 * hidden)];
            TensorPrimitives.Add(rz, ig[..(2 * hidden)], rz);
            TensorPrimitives.Sigmoid(rz, rz);
            Span<float> r = hg[..hidden];
            Span<float> z = hg.Slice(hidden, hidden);
            Span<float> n = hg.Slice(2 * hidden, hidden);
            TensorPrimitives.Multiply(n, r, n);
            TensorPrimitives.Add(ig.Slice(2 * hidden, hidden), n, n);
            TensorPrimitives.Tanh(n, n);
            Span<float> hRow = h.Slice(b * hidden, hidden);
            TensorPrimitives.Subtract(hRow, n, hRow);
            TensorPrimitives.Multiply(hRow, z, hRow);
            TensorPrimitives.Add(hRow, n, hRow);
        }
    }

    /// <summary>Elman RNN: <c>h' = act(hg + ig)</c>, act = tanh or relu. <paramref name="h"/> receives <c>h'</c>.</summary>
    public static void Rnn(ReadOnlySpan<float> hgates, ReadOnlySpan<float> igates, Span<float> h, int batch, int hidden, bool relu)
    {
        int length = batch * hidden;
        if (length == 0)
        {
            return;
        }

        Span<float> hOut = h[..length];
        TensorPrimitives.Add(hgates[..length], igates[..length], hOut);
        if (relu)
        {
            TensorPrimitives.Max(hOut, 0f, hOut);
        }
        else
        {
            TensorPrimitives.Tanh(hOut, hOut);
        }
    }
}
