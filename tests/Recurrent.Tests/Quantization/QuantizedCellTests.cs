using System;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Kernels.Formats;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Quantization;

/// <summary>The cells' quantized copies: the float cell with bfloat16-rounded weights, bit for bit; inference only.</summary>
public sealed class QuantizedCellTests
{
    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn-relu")]
    [InlineData("rnn-tanh-nobias")]
    public void BFloat16Cell_EqualsTheFloatCellWithRoundedWeights(string kind)
    {
        RnnCellBase source = Make(kind), rounded = Make(kind);
        rounded.LoadStateDict(source.StateDict().ToDictionary(
            e => e.Key,
            e => e.Key.StartsWith("weight_", StringComparison.Ordinal)
                ? Tensor.Create(T.Values(e.Value).Select(v => BFloat16Weights.Widen(BFloat16Weights.Round(v))).ToArray(), e.Value.Lengths)
                : e.Value));
        RnnCellBase q = kind switch
        {
            "lstm" => ((LstmCell)source).Quantize(WeightPrecision.BFloat16),
            "gru" => ((GruCell)source).Quantize(WeightPrecision.BFloat16),
            _ => ((RnnCell)source).Quantize(WeightPrecision.BFloat16),
        };
        q.Precision.Should().Be(WeightPrecision.BFloat16);
        q.ToString().Should().Be(source.ToString());
        q.Parameters().Should().BeEmpty();

        Tensor<float> x = T.Random(1, 1f, 4, 9), h = T.Random(2, 0.5f, 4, 24), c = T.Random(3, 0.5f, 4, 24);
        Step(q, x, h, c).Should().Equal(Step(rounded, x, h, c));
        Step(q, T.Random(4, 1f, 9), T.Random(5, 0.5f, 24), T.Random(6, 0.5f, 24)).Should().Equal(Step(rounded, T.Random(4, 1f, 9), T.Random(5, 0.5f, 24), T.Random(6, 0.5f, 24)), "unbatched");

        Tensor<float> bad = T.Random(1, 1f, 4, 8);
        string expected = source.Invoking(m => Step(m, bad, h, c)).Should().Throw<ArgumentException>().Which.Message;
        q.Invoking(m => Step(m, bad, h, c)).Should().Throw<ArgumentException>().Which.Message.Should().Be(expected);
        q.Invoking(m => m.WeightIH).Should().Throw<InvalidOperationException>().WithMessage("*is a quantized copy (BFloat16 weights): it has no float32 parameters*");
    }

    [Fact]
    public void QuantizedCell_RefusesBackward_AndASecondQuantization()
    {
        LstmCell q = new LstmCell(3, 5, seed: 1).Quantize(WeightPrecision.BFloat16);
        q.Train();
        LstmCellOutput y = q.Forward(T.Random(1, 1f, 2, 3));
        q.Invoking(m => m.Backward(y.H)).Should().Throw<InvalidOperationException>().WithMessage("*a quantized cell is inference-only*");
        q.Invoking(m => m.Quantize(WeightPrecision.BFloat16)).Should().Throw<InvalidOperationException>().WithMessage("*already quantized*");
        new GruCell(3, 5, seed: 1).Invoking(m => m.Quantize(WeightPrecision.Float32)).Should().Throw<ArgumentException>();
    }

    private static RnnCellBase Make(string kind) => kind switch
    {
        "lstm" => new LstmCell(9, 24, seed: 1),
        "gru" => new GruCell(9, 24, seed: 1),
        "rnn-relu" => new RnnCell(9, 24, nonlinearity: Nonlinearity.Relu, seed: 1),
        _ => new RnnCell(9, 24, bias: false, seed: 1),
    };

    private static float[] Step(RnnCellBase cell, Tensor<float> x, Tensor<float> h, Tensor<float> c) => cell switch
    {
        LstmCell l => [.. l.Forward(x, h, c) is var o ? T.Values(o.H).Concat(T.Values(o.C)) : []],
        GruCell g => T.Values(g.Forward(x, h)),
        RnnCell r => T.Values(r.Forward(x, h)),
        _ => throw new InvalidOperationException(),
    };
}
