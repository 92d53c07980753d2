using System;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Kernels.Formats;
using Recurrent.Kernels.Reference;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Quantization;

/// <summary>
/// Both quantized modes against the scalar oracle: a layer written out step by step from <see cref="ReferenceKernels"/>
/// (double-precision products of the values the quantized weights and activations stand for, then the cell equations),
/// sharing no code with the packed panels, the quantized rows or the kernels.
/// </summary>
public sealed class QuantizedReferenceTests
{
    [Theory]
    [InlineData("lstm", WeightPrecision.BFloat16)]
    [InlineData("gru", WeightPrecision.BFloat16)]
    [InlineData("rnn-tanh", WeightPrecision.BFloat16)]
    [InlineData("lstm", WeightPrecision.Int8)]
    [InlineData("gru", WeightPrecision.Int8)]
    [InlineData("rnn-tanh", WeightPrecision.Int8)]
    [InlineData("rnn-relu", WeightPrecision.Int8)]
    public void QuantizedLayer_MatchesTheScalarReference(string kind, WeightPrecision precision)
    {
        const int seq = 6, batch = 3, input = 10, hidden = 20;
        RnnBase source = kind switch
        {
            "lstm" => new Lstm(input, hidden, seed: 3),
            "gru" => new Gru(input, hidden, seed: 3),
            _ => new Rnn(input, hidden, nonlinearity: kind == "rnn-relu" ? Nonlinearity.Relu : Nonlinearity.Tanh, seed: 3),
        };
        int gates = source switch { Lstm => 4, Gru => 3, _ => 1 };
        var state = source.StateDict();
        float[] Weights(string key, int k)
        {
            float[] w = T.Values(state[key]);
            return precision == WeightPrecision.Int8
                ? ReferenceKernels.Int8WeightValues(w, gates * hidden, k)
                : Array.ConvertAll(w, v => BFloat16Weights.Widen(BFloat16Weights.Round(v)));
        }

        float[] Activations(ReadOnlySpan<float> row) => precision == WeightPrecision.Int8 ? ReferenceKernels.Int8ActivationValues(row) : row.ToArray();

        float[] wih = Weights("weight_ih_l0", input), whh = Weights("weight_hh_l0", hidden);
        float[] bih = T.Values(state["bias_ih_l0"]), bhh = T.Values(state["bias_hh_l0"]);
        Tensor<float> x = T.Random(7, 1.5f, seq, batch, input), h0 = T.Random(8, 0.8f, 1, batch, hidden), c0 = T.Random(9, 0.8f, 1, batch, hidden);
        float[] xs = T.Values(x), h = T.Values(h0), c = T.Values(c0);

        float[] want = new float[seq * batch * hidden];
        float[] igates = new float[gates * hidden], hgates = new float[gates * hidden];
        float[] allI = new float[batch * gates * hidden], allH = new float[batch * gates * hidden];
        for (int t = 0; t < seq; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                ReferenceKernels.MultiplyTransposed(Activations(xs.AsSpan(((t * batch) + b) * input, input)), wih, bih, igates, 1, gates * hidden, input);
                ReferenceKernels.MultiplyTransposed(Activations(h.AsSpan(b * hidden, hidden)), whh, bhh, hgates, 1, gates * hidden, hidden);
                igates.CopyTo(allI, b * gates * hidden);
                hgates.CopyTo(allH, b * gates * hidden);
            }

            switch (source)
            {
                case Lstm:
                    ReferenceKernels.Lstm(allH, allI, c, h, batch, hidden);
                    break;
                case Gru:
                    ReferenceKernels.Gru(allH, allI, h, batch, hidden);
                    break;
                default:
                    ReferenceKernels.Rnn(allH, allI, h, batch, hidden, kind == "rnn-relu");
                    break;
            }

            h.CopyTo(want, t * batch * hidden);
        }

        float[] got = source switch
        {
            Lstm l => T.Values(l.Quantize(precision).Forward(x, h0, c0).Output),
            Gru g => T.Values(g.Quantize(precision).Forward(x, h0).Output),
            Rnn r => T.Values(r.Quantize(precision).Forward(x, h0).Output),
            _ => throw new InvalidOperationException(),
        };

        // The oracle adds in double, the kernels in float32 (FMA chains; int8: exact integers, then two float32 scalings).
        double worst = 0;
        for (int i = 0; i < want.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs((double)want[i] - got[i]));
        }

        worst.Should().BeLessThan(2e-5, $"{kind} {precision}");
    }
}
