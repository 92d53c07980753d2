using System;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Api;

public sealed class ModuleApiTests
{
    [Fact]
    public void Forward_Deconstructs_AsInPyTorch()
    {
        var (output, hN, cN) = new Lstm(10, 20, numLayers: 2).Forward(T.Zeros(5, 3, 10));
        output.Lengths.ToArray().Should().Equal(5, 3, 20);
        hN.Lengths.ToArray().Should().Equal(2, 3, 20);
        cN.Lengths.ToArray().Should().Equal(2, 3, 20);

        var (gruOut, gruH) = new Gru(10, 20).Forward(T.Zeros(5, 3, 10));
        gruOut.Lengths.ToArray().Should().Equal(5, 3, 20);
        gruH.Lengths.ToArray().Should().Equal(1, 3, 20);

        var (h, c) = new LstmCell(10, 20).Forward(T.Zeros(3, 10));
        h.Lengths.ToArray().Should().Equal(3, 20);
        c.Lengths.ToArray().Should().Equal(3, 20);
    }

    [Fact]
    public void NamedParameters_FollowStateDictOrder_AndShapes()
    {
        var lstm = new Lstm(3, 5, numLayers: 2, bidirectional: true, projSize: 2);
        var names = lstm.NamedParameters().Select(p => p.Name).ToArray();
        names.Should().Equal(lstm.StateDict().Keys);
        names.Take(6).Should().Equal("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l0_reverse");
        lstm.NamedParameters().First(p => p.Name == "weight_ih_l1").Parameter.Shape.ToArray().Should().Equal(20, 4);
        lstm.NamedParameters().First(p => p.Name == "weight_hr_l1_reverse").Parameter.Shape.ToArray().Should().Equal(2, 5);
        new Gru(3, 4, bias: false).StateDict().Keys.Should().Equal("weight_ih_l0", "weight_hh_l0");
        new RnnCell(3, 4, bias: false).StateDict().Keys.Should().Equal("weight_ih", "weight_hh");
        new Embedding(4, 2).StateDict().Keys.Should().Equal("weight");
    }

    [Fact]
    public void ParameterData_SharesMemoryWithTheModule_StateDictIsACopy()
    {
        var rnn = new Rnn(2, 3, seed: 1);
        Tensor<float> x = T.Random(2, 1f, 4, 1, 2);
        float[] before = T.Values(rnn.Forward(x).Output);

        rnn.StateDict()["weight_ih_l0"].Fill(0f);
        T.Values(rnn.Forward(x).Output).Should().Equal(before, "state_dict returns copies");

        rnn.NamedParameters().First().Parameter.Data.Fill(0f);
        rnn.FlattenParameters();
        T.Values(rnn.Forward(x).Output).Should().NotEqual(before, "Parameter.Data is the module's own memory, packed again by FlattenParameters");
    }

    [Fact]
    public void Initialisation_IsPyTorchsUniform_AndReproducibleFromASeed()
    {
        var a = new Gru(7, 16, numLayers: 2, seed: 42);
        var b = new Gru(7, 16, numLayers: 2, seed: 42);
        var c = new Gru(7, 16, numLayers: 2, seed: 43);
        float[] va = a.Parameters().SelectMany(p => T.Values(p.Data)).ToArray();
        va.Should().Equal(b.Parameters().SelectMany(p => T.Values(p.Data)));
        va.Should().NotEqual(c.Parameters().SelectMany(p => T.Values(p.Data)));
        va.Should().OnlyContain(v => Math.Abs(v) <= 0.25f, "U(-1/sqrt(16), 1/sqrt(16))");
        va.Max().Should().BeGreaterThan(0.24f);
        va.Min().Should().BeLessThan(-0.24f);
    }

    [Fact]
    public void Embedding_Initialisation_IsStandardNormal_WithZeroPaddingRow()
    {
        var e = new Embedding(2000, 50, paddingIdx: 3, seed: 1);
        float[] w = T.Values(e.Weight.Data);
        w.AsSpan(150, 50).ToArray().Should().OnlyContain(v => v == 0f);
        double mean = w.Average();
        double std = Math.Sqrt(w.Select(v => (v - mean) * (v - mean)).Average());
        mean.Should().BeApproximately(0, 0.01);
        std.Should().BeApproximately(1, 0.01);
    }

    [Fact]
    public void Embedding_FromPretrained_CopiesAndHonoursFreeze()
    {
        Tensor<float> table = T.Random(1, 1f, 4, 3);
        float[] original = T.Values(table);
        var frozen = Embedding.FromPretrained(table, paddingIdx: 0);
        var trainable = Embedding.FromPretrained(table, freeze: false);
        table.Fill(9f);

        T.Values(frozen.Weight.Data).Should().Equal(original, "the padding row is not zeroed and the table is copied");
        frozen.Weight.RequiresGrad.Should().BeFalse();
        trainable.Weight.RequiresGrad.Should().BeTrue();
    }

    [Fact]
    public void TrainAndEval_ToggleTraining()
    {
        var gru = new Gru(2, 2);
        gru.Training.Should().BeTrue("modules start in training mode, as in PyTorch");
        gru.Eval().Should().BeSameAs(gru);
        gru.Eval().Forward(T.Zeros(2, 1, 2)).Output.Lengths.ToArray().Should().Equal(2, 1, 2);
        gru.Training.Should().BeFalse();
        gru.Train().Training.Should().BeTrue();
    }

    [Fact]
    public void ToString_ShowsReluForRnn_WhichPyTorchOmits()
    {
        new Rnn(3, 4, numLayers: 2, nonlinearity: Nonlinearity.Relu, dropout: 0.1f).ToString()
            .Should().Be("RNN(3, 4, num_layers=2, nonlinearity=relu, dropout=0.1)");
        new Embedding(10, 3, paddingIdx: -1, maxNorm: 1f, normType: float.PositiveInfinity, scaleGradByFreq: true).ToString()
            .Should().Be("Embedding(10, 3, padding_idx=9, max_norm=1.0, norm_type=inf, scale_grad_by_freq=True)");
    }

    [Fact]
    public void SequenceShape_DescribesEachLayout()
    {
        SequenceShape.Of(T.Zeros(5, 3, 10), batchFirst: false).Describe("H_in").Should().Be("(L=5, N=3, H_in=10)");
        SequenceShape.Of(T.Zeros(3, 5, 10), batchFirst: true).Describe("H_in").Should().Be("(N=3, L=5, H_in=10)");
        SequenceShape unbatched = SequenceShape.Of(T.Zeros(5, 10), batchFirst: true);
        unbatched.Should().Be(new SequenceShape(5, 1, 10, BatchFirst: false, Unbatched: true));
        unbatched.StateLengths(2, 4).Should().Equal(2, 4);
    }
}
