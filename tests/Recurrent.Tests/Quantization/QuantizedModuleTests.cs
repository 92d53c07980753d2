using System;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using FluentAssertions;
using Recurrent.Kernels.Formats;
using Recurrent.Streaming;
using Recurrent.Tests.Properties;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Quantization;

/// <summary>
/// A quantized copy is the float module with rounded weights: the same bits as a float32 module holding the
/// bfloat16-rounded weights, through every forward overload; the same errors; no parameters; inference only.
/// </summary>
[Collection(nameof(ThreadSettings))]
public sealed class QuantizedModuleTests
{
    public static TheoryData<string> Kinds => ["lstm", "lstm-proj-bi", "gru", "gru-bi-2", "rnn-relu", "rnn-tanh-bf"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void BFloat16Copy_EqualsTheFloatModuleWithRoundedWeights_OnEveryPath(string kind)
    {
        RnnBase source = Make(kind);
        RnnBase rounded = Make(kind);
        // The weights round to bfloat16; the biases stay float32 (added in float32 after the products).
        rounded.LoadStateDict(source.StateDict().ToDictionary(
            e => e.Key,
            e => e.Key.StartsWith("weight_", StringComparison.Ordinal)
                ? Tensor.Create(T.Values(e.Value).Select(v => BFloat16Weights.Widen(BFloat16Weights.Round(v))).ToArray(), e.Value.Lengths)
                : e.Value));
        RnnBase q = Quantize(source, WeightPrecision.BFloat16);
        q.Precision.Should().Be(WeightPrecision.BFloat16);
        q.ToString().Should().Be(source.ToString());
        int saved = Parallelism.NumThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Parallelism.NumThreads = threads;
                int d = source.Bidirectional ? 2 : 1, states = d * source.NumLayers, batch = 5, seq = 6;
                Tensor<float> x = T.Random(3, 1f, source.BatchFirst ? [batch, seq, source.InputSize] : [seq, batch, source.InputSize]);
                Tensor<float> h0 = T.Random(4, 0.5f, states, batch, source.Spec.OutputSize);
                Tensor<float> c0 = T.Random(5, 0.5f, states, batch, source.HiddenSize);
                Bits(Outputs(q, x, h0, c0)).Should().Equal(Bits(Outputs(rounded, x, h0, c0)), $"{kind}, tensor path, {threads} thread(s)");

                // Packed, unsorted lengths.
                PackedSequence packed = RnnUtils.PackPaddedSequence(x, [6, 2, 4, 1, 3], source.BatchFirst, enforceSorted: false);
                Bits(PackedOutputs(q, packed, h0)).Should().Equal(Bits(PackedOutputs(rounded, packed, h0)), $"{kind}, packed, {threads} thread(s)");
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SpanPath_SameBitsAsTensorPath_AndAllocatesNothingWhenWarm(WeightPrecision precision)
    {
        Lstm q = new Lstm(12, 40, numLayers: 2, projSize: 9, seed: 2).Eval().Quantize(precision);
        const int seq = 7, batch = 3;
        Tensor<float> x = T.Random(6, 1f, seq, batch, 12);
        LstmOutput want = q.Forward(x);
        float[] input = T.Values(x), output = new float[seq * batch * 9], hN = new float[2 * batch * 9], cN = new float[2 * batch * 40];
        var workspace = new RecurrentWorkspace();
        var shape = new SequenceShape(seq, batch, 12);
        q.Forward(input, shape, [], [], output, hN, cN, workspace);
        long before = GC.GetAllocatedBytesForCurrentThread();
        q.Forward(input, shape, [], [], output, hN, cN, workspace);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
        Bits(output).Should().Equal(Bits(T.Values(want.Output)));
        Bits(hN).Should().Equal(Bits(T.Values(want.HN)));
        Bits(cN).Should().Equal(Bits(T.Values(want.CN)));
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void BadInput_GetsTheFloatModulesErrors(WeightPrecision precision)
    {
        var source = new Gru(4, 6, numLayers: 2, batchFirst: true, seed: 3);
        Gru q = source.Quantize(precision);
        Tensor<float>[] inputs = [T.Random(1, 1f, 2, 3, 5), T.Random(1, 1f, 3), T.Random(1, 1f, 2, 3, 4, 1)];
        foreach (Tensor<float> bad in inputs)
        {
            string expected = source.Invoking(m => m.Forward(bad)).Should().Throw<ArgumentException>().Which.Message;
            q.Invoking(m => m.Forward(bad)).Should().Throw<ArgumentException>().Which.Message.Should().Be(expected);
        }

        Tensor<float> x = T.Random(1, 1f, 2, 3, 4), h0 = T.Random(2, 1f, 1, 2, 6);
        string stateError = source.Invoking(m => m.Forward(x, h0)).Should().Throw<ArgumentException>().Which.Message;
        q.Invoking(m => m.Forward(x, h0)).Should().Throw<ArgumentException>().Which.Message.Should().Be(stateError);
    }

    [Fact]
    public void QuantizedCopy_IsInferenceOnly_HoldsNoParameters_AndHalfTheBytes()
    {
        var source = new Lstm(64, 128, numLayers: 2, seed: 4);
        Lstm q = source.Quantize(WeightPrecision.BFloat16);
        q.Parameters().Should().BeEmpty();
        q.StateDict().Should().BeEmpty();
        long packedFloat = source.WeightBytes - source.Parameters().Sum(p => (long)p.Values.Length * sizeof(float));
        long biases = 2 * 4 * 128 * sizeof(float);
        ((double)(q.WeightBytes - biases) / (packedFloat - biases)).Should().Be(0.5, "bfloat16 panels are half the float32 panels");
        ((double)q.WeightBytes / source.WeightBytes).Should().BeLessThan(0.26, "the float module also keeps its parameters");

        q.Train();
        LstmOutput y = q.Forward(T.Random(1, 1f, 3, 2, 64));
        q.Invoking(m => m.Backward(y.Output)).Should().Throw<InvalidOperationException>().WithMessage("*BFloat16 weights: a quantized module is inference-only*");
        source.Invoking(m => m.Quantize(WeightPrecision.Float32)).Should().Throw<ArgumentException>().WithMessage("float32 is the module's own precision*");
        q.Invoking(m => m.Quantize(WeightPrecision.BFloat16)).Should().Throw<InvalidOperationException>().WithMessage("*is already quantized*");
    }

    [Fact]
    public void QuantizedCopy_DoesNotFollowLaterChangesToTheFloatModule()
    {
        var source = new Rnn(3, 5, seed: 5);
        Rnn q = source.Quantize(WeightPrecision.BFloat16);
        Tensor<float> x = T.Random(2, 1f, 4, 2, 3);
        float[] before = T.Values(q.Forward(x).Output);
        source.ResetParameters();
        T.Values(q.Forward(x).Output).Should().Equal(before);
    }

    [Fact]
    public async Task StreamHost_ServesAQuantizedModel_Exactly()
    {
        Gru q = new Gru(4, 16, numLayers: 2, seed: 6).Eval().Quantize(WeightPrecision.BFloat16);
        using var host = new StreamHost(q);
        using StreamSession a = host.Open(), b = host.Open();
        float[] xa = T.Values(T.Random(7, 1f, 5, 4)), xb = T.Values(T.Random(8, 1f, 3, 4));
        Task<float[]> ya = a.SubmitAsync(xa).AsTask(), yb = b.SubmitAsync(xb).AsTask();
        Bits(await ya).Should().Equal(Bits(T.Values(q.Forward(Tensor.Create(xa, [5, 4])).Output)));
        Bits(await yb).Should().Equal(Bits(T.Values(q.Forward(Tensor.Create(xb, [3, 4])).Output)));
    }

    /// <summary>The module kinds of <see cref="Kinds"/> (the int8 tests use them too).</summary>
    internal static RnnBase Make(string kind, int seed = 1) => kind switch
    {
        "lstm" => new Lstm(7, 20, seed: seed),
        "lstm-proj-bi" => new Lstm(7, 20, numLayers: 2, bidirectional: true, projSize: 6, batchFirst: true, seed: seed),
        "gru" => new Gru(7, 33, seed: seed),
        "gru-bi-2" => new Gru(7, 20, numLayers: 2, bidirectional: true, seed: seed),
        "rnn-relu" => new Rnn(7, 20, nonlinearity: Nonlinearity.Relu, seed: seed),
        _ => new Rnn(7, 70, numLayers: 2, batchFirst: true, seed: seed),
    };

    internal static RnnBase Quantize(RnnBase m, WeightPrecision precision) => m switch
    {
        Lstm l => l.Quantize(precision),
        Gru g => g.Quantize(precision),
        Rnn r => r.Quantize(precision),
        _ => throw new InvalidOperationException(),
    };

    private static float[] Outputs(RnnBase m, Tensor<float> x, Tensor<float> h0, Tensor<float> c0) => m switch
    {
        Lstm l => Concat(l.Forward(x, h0, c0) is var o ? [o.Output, o.HN, o.CN] : []),
        Gru g => Concat(g.Forward(x, h0) is var o ? [o.Output, o.HN] : []),
        Rnn r => Concat(r.Forward(x, h0) is var o ? [o.Output, o.HN] : []),
        _ => throw new InvalidOperationException(),
    };

    private static float[] PackedOutputs(RnnBase m, PackedSequence x, Tensor<float> h0) => m switch
    {
        Lstm l => Concat(l.Forward(x, h0) is var o ? [o.Output.Data, o.HN, o.CN] : []),
        Gru g => Concat(g.Forward(x, h0) is var o ? [o.Output.Data, o.HN] : []),
        Rnn r => Concat(r.Forward(x, h0) is var o ? [o.Output.Data, o.HN] : []),
        _ => throw new InvalidOperationException(),
    };

    private static float[] Concat(Tensor<float>[] tensors) => [.. tensors.SelectMany(T.Values)];

    internal static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
