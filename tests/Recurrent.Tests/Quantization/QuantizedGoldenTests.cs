using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Quantization;

/// <summary>
/// Quantized copies against PyTorch's float32 outputs on every layer fixture: the error comes from rounding the weights
/// (and for int8 each step's activations), and it stays under a bound derived from the weights and the input (see
/// <see cref="Bound"/>).
/// </summary>
public sealed class QuantizedGoldenTests(ITestOutputHelper output)
{
    /// <summary>bfloat16 rounds to nearest with 8 significant bits: a relative error of at most 2⁻⁹ per weight.</summary>
    private const double BFloat16Unit = 1.0 / 512;

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string kind in new[] { "lstm", "gru", "rnn", "packed" })
            {
                foreach (string name in Fixture.NameList(kind))
                {
                    data.Add(kind, name);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BFloat16_StaysWithinTheDerivedBound(string kind, string name) => StaysWithinTheDerivedBound(kind, name, WeightPrecision.BFloat16);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Int8_StaysWithinTheDerivedBound(string kind, string name) => StaysWithinTheDerivedBound(kind, name, WeightPrecision.Int8);

    [Theory]
    [InlineData(WeightPrecision.BFloat16, 2e-3)]
    [InlineData(WeightPrecision.Int8, 2e-2)]
    public void MedianErrorOverEveryFixture_IsSmall(WeightPrecision precision, double medianBar)
    {
        var errors = new List<(double Error, string Name)>();
        foreach (string kind in new[] { "lstm", "gru", "rnn", "packed" })
        {
            foreach (string name in Fixture.NameList(kind))
            {
                errors.Add((Measure(kind, name, precision).Error, $"{kind}/{name}"));
            }
        }

        (double worst, string where) = errors.Max();
        double median = errors.Select(e => e.Error).Order().ElementAt(errors.Count / 2);
        output.WriteLine($"{precision}, {errors.Count} fixtures: worst {worst:E2} ({where}), median {median:E2}");
        errors.Should().HaveCountGreaterThan(90);
        median.Should().BeLessThan(medianBar);
    }

    private void StaysWithinTheDerivedBound(string kind, string name, WeightPrecision precision)
    {
        (double error, double bound, double scale) = Measure(kind, name, precision);
        output.WriteLine($"{kind}/{name}: max |error| {error:E2}, bound {bound:E2}, output scale {scale:F2}");
        error.Should().BeLessThanOrEqualTo(bound, $"{kind}/{name}");
    }

    /// <summary>
    /// The worst error of the quantized copy over every output of the fixture, and its bound, a first-order estimate: a
    /// step's pre-activations move by at most u·(‖W_ih‖∞·max|x| + ‖W_hh‖∞·max|h|) when each weight moves by at most u
    /// relative (u = 2⁻⁹), the activations are 1-Lipschitz, and that perturbation is summed over the T steps and L layers
    /// (twice for LSTM's h and c paths), times 2. It assumes errors carried into later steps are not amplified, which
    /// every fixture bears out by a wide margin (the measured errors sit 10 to 100 times under it).
    /// </summary>
    internal static (double Error, double Bound, double Scale) Measure(string kind, string name, WeightPrecision precision)
    {
        Fixture f = Fixture.Load(kind, name);
        RnnBase m = Build(f);
        var state = f.State();
        m.LoadStateDict(state);
        m.Eval();
        RnnBase q = m switch
        {
            Lstm l => l.Quantize(precision),
            Gru g => g.Quantize(precision),
            Rnn r => r.Quantize(precision),
            _ => throw new InvalidOperationException(),
        };

        var outputs = new List<(string Name, Tensor<float> Value)>();
        if (kind == "packed")
        {
            PackedSequence packed = RnnUtils.PackPaddedSequence(f.Input("input"), f.Ints("inputs", "lengths")!, m.BatchFirst, f.RawInput("enforce_sorted").GetBoolean());
            Tensor<float> Padded(PackedSequence o) => RnnUtils.PadPackedSequence(o, m.BatchFirst).Padded;
            switch (q)
            {
                case Lstm l:
                    PackedLstmOutput lo = l.Forward(packed, f.OptionalInput("h0"), f.OptionalInput("c0"));
                    outputs.AddRange([("output_padded", Padded(lo.Output)), ("h_n", lo.HN), ("c_n", lo.CN)]);
                    break;
                case Gru g:
                    PackedRnnOutput go = g.Forward(packed, f.OptionalInput("h0"));
                    outputs.AddRange([("output_padded", Padded(go.Output)), ("h_n", go.HN)]);
                    break;
                case Rnn r:
                    PackedRnnOutput ro = r.Forward(packed, f.OptionalInput("h0"));
                    outputs.AddRange([("output_padded", Padded(ro.Output)), ("h_n", ro.HN)]);
                    break;
            }
        }
        else
        {
            switch (q)
            {
                case Lstm l:
                    LstmOutput lo = l.Forward(f.Input("input"), f.OptionalInput("h0"), f.OptionalInput("c0"));
                    outputs.AddRange([("output", lo.Output), ("h_n", lo.HN), ("c_n", lo.CN)]);
                    break;
                case Gru g:
                    RnnOutput go = g.Forward(f.Input("input"), f.OptionalInput("h0"));
                    outputs.AddRange([("output", go.Output), ("h_n", go.HN)]);
                    break;
                case Rnn r:
                    RnnOutput ro = r.Forward(f.Input("input"), f.OptionalInput("h0"));
                    outputs.AddRange([("output", ro.Output), ("h_n", ro.HN)]);
                    break;
            }
        }

        double error = 0, scale = 0;
        foreach ((string outName, Tensor<float> value) in outputs)
        {
            float[] want = T.Values(f.Output(outName)), got = T.Values(value);
            for (int i = 0; i < want.Length; i++)
            {
                error = Math.Max(error, Math.Abs((double)want[i] - got[i]));
                scale = Math.Max(scale, Math.Abs(want[i]));
            }
        }

        return (error, Bound(f, m, state, precision), scale);
    }

    /// <summary>
    /// bfloat16: each weight moves by at most u = 2⁻⁹ relative, so a pre-activation by u · Σ|w| · max|a| (a the
    /// activations). int8: each weight by at most half its row's step (max |w_row| / 254), and each activation by half
    /// of its row's step (its range, at most 2 · max|a|, over 255), so a pre-activation by
    /// max|a| · (K · max|w_row| / 254 + (Σ|w| + K · max|w_row| / 254) / 255). Either is then carried as described above.
    /// </summary>
    private static double Bound(Fixture f, RnnBase m, IReadOnlyDictionary<string, Tensor<float>> state, WeightPrecision precision)
    {
        float[] x = T.Values(f.Input("input"));
        double xMax = x.Length == 0 ? 0 : x.Max(v => Math.Abs(v));
        double hMax = 1;
        foreach (string h0 in new[] { "h0", "c0" })
        {
            if (f.OptionalInput(h0) is { } t && T.Values(t).Length > 0)
            {
                hMax = Math.Max(hMax, T.Values(t).Max(v => Math.Abs(v)));
            }
        }

        if (m is Rnn { Nonlinearity: Nonlinearity.Relu })
        {
            hMax = Math.Max(hMax, T.Values(f.Output("h_n")).Max(v => Math.Abs(v)));
        }

        double perStep = 0;
        foreach ((string key, Tensor<float> w) in state)
        {
            if (!key.StartsWith("weight_", StringComparison.Ordinal))
            {
                continue;
            }

            double activations = key.StartsWith("weight_ih_l0", StringComparison.Ordinal) ? Math.Max(xMax, 1) : hMax;
            perStep = Math.Max(perStep, activations * RowErrorMax(w, precision));
        }

        int steps = (int)f.Input("input").Lengths[m.BatchFirst && f.Input("input").Rank == 3 ? 1 : 0];
        return 2 * perStep * Math.Max(1, steps) * m.NumLayers * (m is Lstm ? 2 : 1);
    }

    /// <summary>The largest error of a row's product with activations of magnitude at most 1 (see <see cref="Bound"/>).</summary>
    private static double RowErrorMax(Tensor<float> w, WeightPrecision precision)
    {
        float[] v = T.Values(w);
        int cols = (int)w.Lengths[^1];
        double best = 0;
        for (int r = 0; r + cols <= v.Length; r += cols)
        {
            double sum = 0, largest = 0;
            for (int c = 0; c < cols; c++)
            {
                sum += Math.Abs(v[r + c]);
                largest = Math.Max(largest, Math.Abs(v[r + c]));
            }

            double weightError = cols * largest / 254;
            best = Math.Max(best, precision == WeightPrecision.Int8 ? weightError + ((sum + weightError) / 255) : BFloat16Unit * sum);
        }

        return best;
    }

    private static RnnBase Build(Fixture f) => f.Module switch
    {
        "LSTM" => new Lstm(f.Int("inputSize"), f.Int("hiddenSize"), f.Int("numLayers"), f.Bool("bias"), f.Bool("batchFirst"), f.Float("dropout"), f.Bool("bidirectional"), f.Int("projSize"), seed: 7),
        "GRU" => new Gru(f.Int("inputSize"), f.Int("hiddenSize"), f.Int("numLayers"), f.Bool("bias"), f.Bool("batchFirst"), f.Float("dropout"), f.Bool("bidirectional"), seed: 7),
        _ => new Rnn(
            f.Int("inputSize"), f.Int("hiddenSize"), f.Int("numLayers"), f.String("nonlinearity") == "relu" ? Nonlinearity.Relu : Nonlinearity.Tanh, f.Bool("bias"), f.Bool("batchFirst"), f.Float("dropout"), f.Bool("bidirectional"), seed: 7),
    };
}
