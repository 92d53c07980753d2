using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FluentAssertions;
using Recurrent.Engine;
using Recurrent.Kernels;
using Recurrent.Kernels.Formats;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The weight format is a type argument of the packed matrix, the block loop and the micro-kernels. bfloat16 widens to
/// float32 exactly, so a product on bfloat16 weights must equal, bit for bit, the float32 product on the same weights
/// rounded to bfloat16 — on every tier, every kernel shape, K-blocked or not, and shared between threads.
/// </summary>
[Collection(nameof(Properties.ThreadSettings))]
public sealed class WeightFormatTests
{
    [Fact]
    public void BFloat16Round_IsRoundToNearestEven()
    {
        var random = new Random(5);
        for (int i = 0; i < 200_000; i++)
        {
            float x = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
            if (!float.IsFinite(x))
            {
                continue;
            }

            ushort r = BFloat16Weights.Round(x);
            float nearest = BFloat16Weights.Widen(r);
            ushort below = (ushort)(r - 1), above = (ushort)(r + 1);

            // No bfloat16 neighbour of the result is closer to x; on a tie the result's last bit is even.
            foreach (ushort neighbour in new[] { below, above })
            {
                float other = BFloat16Weights.Widen(neighbour);
                if (!float.IsFinite(other) || Math.Sign(other) != Math.Sign(nearest))
                {
                    continue;
                }

                // Past the largest bfloat16, rounding goes to 2^128 (IEEE's unbounded exponent), which is infinity.
                double nearestValue = float.IsInfinity(nearest) ? Math.CopySign(Math.Pow(2, 128), nearest) : nearest;
                double dNearest = Math.Abs(x - nearestValue), dOther = Math.Abs((double)x - other);
                dNearest.Should().BeLessThanOrEqualTo(dOther, $"x = {x:R} rounded to {nearest:R}, but {other:R} is closer");
                if (dNearest == dOther)
                {
                    (r & 1).Should().Be(0, $"x = {x:R} is a tie: it rounds to the even one");
                }
            }
        }

        float.IsNaN(BFloat16Weights.Widen(BFloat16Weights.Round(float.NaN))).Should().BeTrue();
        BFloat16Weights.Widen(BFloat16Weights.Round(float.PositiveInfinity)).Should().Be(float.PositiveInfinity);
        BFloat16Weights.Widen(BFloat16Weights.Round(float.MaxValue)).Should().Be(float.PositiveInfinity, "float.MaxValue is nearer 2^128 than the largest bfloat16");
        BFloat16Weights.Widen(BFloat16Weights.Round(1f)).Should().Be(1f);
    }

    public static TheoryData<string> AllTiers() => Tiers.All();

    [Theory]
    [MemberData(nameof(AllTiers))]
    public void BFloat16Panel_EqualsFloat32PanelOfTheRoundedWeights_OnEveryTier(string tier)
    {
        PanelsEqualFloat32OfTheRoundedWeights<BFloat16Weights>(tier, new Random(11), [(4, 37, 64), (1, 5, 16), (3, 130, 128), (2, 64, 192)]);
    }

    /// <summary>One tier's product on panels stored in <typeparamref name="TW"/> against float32 panels of the rounded weights, bit for bit.</summary>
    private static void PanelsEqualFloat32OfTheRoundedWeights<TW>(string tier, Random random, (int Rows, int K, int Width)[] cases)
        where TW : struct, IWeightFormat
    {
        foreach ((int rows, int k, int width) in cases)
        {
            float[] a = Tiers.Fill(random, rows * k, 1f);
            float[] weights = Tiers.Fill(random, k * width, 1f);
            float[] rounded = Array.ConvertAll(weights, w => BFloat16Weights.Widen(BFloat16Weights.Round(w)));
            var f32 = new PackedMatrix<Float32Weights>(k, width, width);
            f32.Fill(rounded);
            var narrow = new PackedMatrix<TW>(k, width, width);
            narrow.Fill(weights);
            narrow.Elements.Should().Be(f32.Elements);
            (narrow.Data.Length * 2).Should().Be(f32.Data.Length, "half the bytes");

            float[] want = new float[rows * width], got = new float[rows * width];
            Run<Float32Weights>(tier, a, k, rows, ref f32.Panel(0), k, width, want);
            Run<TW>(tier, a, k, rows, ref narrow.Panel(0), k, width, got);
            got.Should().Equal(want, $"{typeof(TW).Name}, {tier}, {rows}x{k}x{width}");
        }
    }

    /// <summary>
    /// The paired layout (two vectors a 64-byte load) holds the same values in another order: the 16-lane and scalar tiers,
    /// every kernel shape the packed widths reach (multiples of 32), and the block loop, give the float32 bits of the
    /// rounded weights.
    /// </summary>
    public static TheoryData<string> PairTiers()
    {
        // The layout is made only where 16-lane vectors run; the scalar tier reads it too.
        var tiers = new TheoryData<string> { "scalar" };
        if (Vector512.IsHardwareAccelerated)
        {
            tiers.Add("512");
        }

        return tiers;
    }

    [Theory]
    [MemberData(nameof(PairTiers))]
    public void BFloat16PairPanel_EqualsFloat32PanelOfTheRoundedWeights_OnItsTiers(string tier)
    {
        PanelsEqualFloat32OfTheRoundedWeights<BFloat16PairWeights>(
            tier, new Random(12), [(4, 37, 64), (1, 5, 96), (3, 130, 128), (2, 64, 192), (1, 70, 64), (4, 3, 96)]);
    }

    [Theory]
    [InlineData(7, 33, 70)]
    [InlineData(257, 100, 300)]
    public void BFloat16PairMatrix_ThroughTheBlockLoop_EqualsFloat32OfTheRoundedWeights(int m, int k, int n)
    {
        var random = new Random((m * 37) + k + n);
        float[] a = Tiers.Fill(random, m * (k + 1), 1f);
        float[] w = Tiers.Fill(random, 4 * n * k, 1f);
        float[] wRounded = Array.ConvertAll(w, x => BFloat16Weights.Widen(BFloat16Weights.Round(x)));
        PackedMatrix<BFloat16PairWeights> pairs = PackedMatrix<BFloat16PairWeights>.GateInterleaved(w, 4, n, k, 16);
        PackedMatrix<Float32Weights> f32 = PackedMatrix<Float32Weights>.GateInterleaved(wRounded, 4, n, k, 16);
        float[] got = new float[m * pairs.N], want = new float[m * f32.N];
        if (!Vector512.IsHardwareAccelerated)
        {
            // Where 16-lane vectors do not run (DOTNET_EnableAVX512=0, ARM64) the layout is never made, and refuses.
            FluentActions.Invoking(() => DenseGemm.Multiply(a, m, k + 1, pairs, got, pairs.N, accumulate: false)).Should().Throw<NotSupportedException>();
            return;
        }

        DenseGemm.Multiply(a, m, k + 1, pairs, got, pairs.N, accumulate: false);
        DenseGemm.Multiply(a, m, k + 1, f32, want, f32.N, accumulate: false);
        got.Should().Equal(want);
        float[] back = new float[w.Length];
        pairs.UnpackGateInterleaved(back, 4, n, 16);
        back.Should().Equal(wRounded, "unpacking reads back the rounded weights in PyTorch's order");
    }

    /// <summary>One row against two panels in one pass (batch 1's eight chains) gives each panel's bits alone, in every format.</summary>
    [Theory]
    [InlineData(64, 1)]
    [InlineData(64, 300)]
    [InlineData(96, 40)]
    public void RowAgainstTwoPanels_EqualsEachPanelAlone(int width, int k)
    {
        var random = new Random(width + k);
        float[] a = Tiers.Fill(random, k, 1f);
        float[] b = Tiers.Fill(random, k * 2 * width, 1f);
        Check(new PackedMatrix<Float32Weights>(k, 2 * width, width));
        Check(new PackedMatrix<BFloat16Weights>(k, 2 * width, width));
        if (Vector512.IsHardwareAccelerated)
        {
            Check(new PackedMatrix<BFloat16PairWeights>(k, 2 * width, width));
        }

        void Check<TW>(PackedMatrix<TW> m)
            where TW : struct, IWeightFormat
        {
            m.Fill(b);
            float[] pair = new float[2 * width], alone = new float[2 * width];
            PanelKernels.MultiplyRowPair<TW>(ref a[0], ref m.Panel(0), ref m.Panel(1), k, width, ref pair[0]);
            PanelKernels.Multiply<TW>(ref a[0], 0, 1, ref m.Panel(0), k, width, ref alone[0], width);
            PanelKernels.Multiply<TW>(ref a[0], 0, 1, ref m.Panel(1), k, width, ref alone[width], width);
            pair.Should().Equal(alone, $"{typeof(TW).Name}, width {width}, k {k}");
        }
    }

    [Fact]
    public void BFloat16PairLayout_OnANarrowerTier_Refuses()
    {
        var pairs = new PackedMatrix<BFloat16PairWeights>(2, 64, 64);
        float[] a = new float[2], tile = new float[64];
        FluentActions.Invoking(() => Run<BFloat16PairWeights>("256", a, 2, 1, ref pairs.Panel(0), 2, 64, tile)).Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void BFloat16PairLayout_RefusesPanelWidthsItCannotPair() =>
        FluentActions.Invoking(() => new PackedMatrix<BFloat16PairWeights>(3, 48, 48)).Should().Throw<ArgumentOutOfRangeException>();

    [Theory]
    [InlineData(7, 33, 70)]
    [InlineData(64, 200, 129)]
    [InlineData(257, 100, 300)]
    public void BFloat16Matrix_ThroughTheBlockLoop_EqualsFloat32OfTheRoundedWeights(int m, int k, int n)
    {
        var random = new Random((m * 31) + k + n);
        float[] a = Tiers.Fill(random, m * (k + 1), 1f);
        float[] b = Tiers.Fill(random, k * n, 1f);
        float[] rounded = Array.ConvertAll(b, w => BFloat16Weights.Widen(BFloat16Weights.Round(w)));
        var f32 = new PackedMatrix<Float32Weights>(k, n);
        f32.Fill(rounded);
        var bf16 = new PackedMatrix<BFloat16Weights>(k, n);
        bf16.Fill(b);
        float[] want = new float[m * n], got = new float[m * n], shares = new float[m * n];
        DenseGemm.Multiply(a, m, k + 1, f32, want, n, accumulate: false);
        DenseGemm.Multiply(a, m, k + 1, bf16, got, n, accumulate: false);
        got.Should().Equal(want);
        DenseGemm.MultiplyPanels(a, m, k + 1, bf16, shares, n, 0, bf16.Panels / 2, accumulate: false);
        DenseGemm.MultiplyPanels(a, m, k + 1, bf16, shares, n, bf16.Panels / 2, bf16.Panels, accumulate: false);
        shares.Should().Equal(want, "a worker's share of the panels gives the same bits");

        // Gate-interleaved packing, as the layers use it, stores the same rounded values.
        float[] w = Tiers.Fill(random, 4 * 20 * k, 1f);
        float[] wRounded = Array.ConvertAll(w, x => BFloat16Weights.Widen(BFloat16Weights.Round(x)));
        PackedMatrix<BFloat16Weights> gates16 = PackedMatrix<BFloat16Weights>.GateInterleaved(w, 4, 20, k, 16);
        PackedMatrix<Float32Weights> gates32 = PackedMatrix<Float32Weights>.GateInterleaved(wRounded, 4, 20, k, 16);
        float[] g16 = new float[3 * gates16.N], g32 = new float[3 * gates32.N];
        DenseGemm.Multiply(a, 3, k + 1, gates16, g16, gates16.N, accumulate: false);
        DenseGemm.Multiply(a, 3, k + 1, gates32, g32, gates32.N, accumulate: false);
        g16.Should().Equal(g32);
    }

    /// <summary>
    /// The format flows through the engine as a type argument: layers packed as bfloat16 run the same driver and give the
    /// float32 module's result for the weights rounded to bfloat16 (biases stay float32), bit for bit, at 1 and 2 threads.
    /// </summary>
    [Theory]
    [InlineData("lstm", false, 1)]
    [InlineData("lstm", true, 2)]
    [InlineData("gru", true, 1)]
    [InlineData("rnn", false, 2)]
    public void BFloat16Layers_ThroughTheDriver_EqualTheFloat32ModuleOfTheRoundedWeights(string kind, bool bidirectional, int threads)
    {
        RnnBase Make() => kind switch
        {
            "lstm" => new Lstm(12, 40, numLayers: 2, bidirectional: bidirectional, projSize: bidirectional ? 0 : 24, seed: 3).Eval(),
            "gru" => new Gru(12, 40, numLayers: 2, bidirectional: bidirectional, seed: 3).Eval(),
            _ => new Rnn(12, 40, numLayers: 2, bidirectional: bidirectional, seed: 3).Eval(),
        };
        RnnBase module = Make();
        OrderedDictionary<string, Tensor<float>> state = module.StateDict();
        var rounded = new Dictionary<string, Tensor<float>>();
        foreach ((string name, Tensor<float> value) in state)
        {
            float[] values = TestUtilities.T.Values(value);
            rounded[name] = name.StartsWith("weight", StringComparison.Ordinal)
                ? Tensor.Create(Array.ConvertAll(values, v => BFloat16Weights.Widen(BFloat16Weights.Round(v))), value.Lengths)
                : value;
        }

        RnnBase reference = Make();
        reference.LoadStateDict(rounded);
        const int seq = 7, batch = 5;
        Tensor<float> x = TestUtilities.T.Random(9, 1f, seq, batch, 12);
        int saved = Parallelism.NumThreads;
        try
        {
            Parallelism.NumThreads = threads;
            float[] want = TestUtilities.T.Values(reference switch
            {
                Lstm l => l.Forward(x).Output,
                Gru g => g.Forward(x).Output,
                _ => ((Rnn)reference).Forward(x).Output,
            });

            RecurrentSpec spec = module.Spec;
            var layers = new PackedLayer<BFloat16Weights>[spec.NumLayers * spec.NumDirections];
            for (int i = 0; i < layers.Length; i++)
            {
                string suffix = $"_l{i / spec.NumDirections}{(i % spec.NumDirections == 1 ? "_reverse" : "")}";
                float[]? Get(string name) => state.TryGetValue(name + suffix, out Tensor<float>? t) ? TestUtilities.T.Values(t) : null;
                var weights = new LayerWeights(Get("weight_ih")!, Get("weight_hh")!, Get("bias_ih"), Get("bias_hh"), Get("weight_hr"));
                layers[i] = new PackedLayer<BFloat16Weights>(spec.Kind, spec.LayerInputSize(i / spec.NumDirections), spec.HiddenSize, spec.OutputSize, weights);
            }

            float[] got = new float[want.Length], hN = new float[spec.NumLayers * spec.NumDirections * batch * spec.OutputSize], cN = new float[spec.NumLayers * spec.NumDirections * batch * spec.HiddenSize];
            var call = new LayerCall { Input = TestUtilities.T.Values(x), SeqLen = seq, Batch = batch, TimeMajor = true, Output = got, HN = hN, CN = kind == "lstm" ? cN : default };
            LayerDriver.Forward(spec, layers, call, 0f, null, new RecurrentWorkspace());
            got.Should().Equal(want);
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    private static void Run<TW>(string tier, float[] a, int lda, int rows, ref byte panel, int k, int width, float[] tile)
        where TW : struct, IWeightFormat
    {
        ref float ra = ref MemoryMarshal.GetArrayDataReference(a);
        ref float rt = ref MemoryMarshal.GetArrayDataReference(tile);
        switch (tier)
        {
            case "scalar":
                PanelKernels.MultiplyScalar<TW>(ref ra, lda, rows, ref panel, k, width, ref rt, width);
                break;
            case "128":
                PanelKernels.Multiply<TW, Simd128, Vector128<float>>(ref ra, lda, rows, ref panel, k, width, ref rt, width);
                break;
            case "256":
                PanelKernels.Multiply<TW, Simd256, Vector256<float>>(ref ra, lda, rows, ref panel, k, width, ref rt, width);
                break;
            default:
                PanelKernels.Multiply<TW, Simd512, Vector512<float>>(ref ra, lda, rows, ref panel, k, width, ref rt, width);
                break;
        }
    }
}
