using System;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Api;

/// <summary>
/// The summary says, without running the chain, what running it gives: every row's shape is checked against the tensors
/// an actual forward returns, and the parameter counts against the modules' own parameters.
/// </summary>
public sealed class ModelSummaryTests
{
    [Fact]
    public void ClassicEncoder_ShapesAndDimensions_AreWhatRunningItGives()
    {
        var embedding = new Embedding(1000, 128, paddingIdx: 0, seed: 0);
        var gru = new Gru(128, 128, batchFirst: true, seed: 0).Eval();
        ModelSummary summary = ModelSummary.Of([embedding, gru], 100, 5);

        Tensor<float> embedded = embedding.Forward(Tensor.Create(new long[100 * 5], [100, 5]));
        (Tensor<float> output, Tensor<float> hN) = gru.Forward(embedded);
        summary.Rows.Select(r => r.Name).Should().Equal("input", "output", "output", "h_n");
        summary.Rows[1].Shape.Should().Equal(Ints(embedded.Lengths));
        summary.Rows[2].Shape.Should().Equal(Ints(output.Lengths));
        summary.Rows[3].Shape.Should().Equal(Ints(hN.Lengths));
        summary.Rows.Select(r => r.Dimensions).Should().Equal(
            "(N=100, L=5)", "(N=100, L=5, H_in=128)", "(N=100, L=5, H_out=128)", "(D*num_layers=1, N=100, H_out=128)");
        summary.TotalParameters.Should().Be(embedding.Weight.Length + gru.Parameters().Sum(p => (long)p.Length));
        summary.Rows[1].Parameters.Should().Be(embedding.Weight.Length);

        string text = summary.ToString();
        text.Should().StartWith("Embedding(1000, 128, padding_idx=0) -> GRU(128, 128, batch_first=True) on input [100, 5]");
        text.Should().Contain("GRU(128, 128, batch_first=True)      output  [100, 5, 128]  (N=100, L=5, H_out=128)");
        text.Should().Contain("h_n     [1, 100, 128]  (D*num_layers=1, N=100, H_out=128)");
        text.Should().Contain($"total parameters {summary.TotalParameters:N0} (trainable {summary.TrainableParameters:N0})");
        text.Should().Contain("[1] weight_hh_l0  [384, 128]");
        text.Split('\n').Should().OnlyContain(line => !line.EndsWith(' '), "no trailing spaces");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void LstmChain_EveryLayout_MatchesAForwardRun(bool batchFirst, bool unbatched)
    {
        var embedding = new Embedding(50, 6, seed: 1);
        var lstm = new Lstm(6, 20, numLayers: 2, bidirectional: true, projSize: 8, batchFirst: batchFirst, seed: 1).Eval();
        var dropout = new DropoutLayer(0.2f).Eval();
        var head = new Linear(16, 3, seed: 1).Eval();
        int[] ids = unbatched ? [7] : batchFirst ? [3, 7] : [7, 3];
        ModelSummary summary = ModelSummary.Of([embedding, lstm, dropout, head], ids);

        Tensor<float> x = embedding.Forward(Tensor.Create(new long[ids.Aggregate(1, (a, b) => a * b)], Array.ConvertAll(ids, d => (nint)d)));
        (Tensor<float> output, Tensor<float> hN, Tensor<float> cN) = lstm.Forward(x);
        Tensor<float> logits = head.Forward(dropout.Forward(output));
        summary.Rows.Select(r => r.Shape).Should().BeEquivalentTo(
            new[] { ids, Ints(x.Lengths), Ints(output.Lengths), Ints(hN.Lengths), Ints(cN.Lengths), Ints(output.Lengths), Ints(logits.Lengths) },
            o => o.WithStrictOrdering());
        string sequence = unbatched ? "L=7" : batchFirst ? "N=3, L=7" : "L=7, N=3";
        summary.Rows[2].Dimensions.Should().Be($"({sequence}, D*H_out=16)");
        summary.Rows[3].Dimensions.Should().Be(unbatched ? "(D*num_layers=4, H_out=8)" : "(D*num_layers=4, N=3, H_out=8)");
        summary.Rows[4].Dimensions.Should().Be(unbatched ? "(D*num_layers=4, H_cell=20)" : "(D*num_layers=4, N=3, H_cell=20)");
        summary.Rows[6].Dimensions.Should().Be($"({sequence}, out_features=3)");
    }

    [Fact]
    public void CellChain_MatchesAForwardStep()
    {
        var cell = new LstmCell(10, 20, seed: 2).Eval();
        var head = new Linear(20, 5, seed: 2);
        head.Weight.RequiresGrad = false;
        ModelSummary summary = ModelSummary.Of([cell, head], 3, 10);
        (Tensor<float> h, Tensor<float> c) = cell.Forward(T.Random(1, 1f, 3, 10));
        summary.Rows.Select(r => (r.Name, r.Dimensions)).Should().Equal(
            ("input", "(N=3, H_in=10)"), ("h'", "(N=3, H_out=20)"), ("c'", "(N=3, H_cell=20)"), ("output", "(N=3, out_features=5)"));
        summary.Rows[1].Shape.Should().Equal(Ints(h.Lengths));
        summary.Rows[2].Shape.Should().Equal(Ints(c.Lengths));
        summary.TrainableParameters.Should().Be(summary.TotalParameters - head.Weight.Length, "a frozen weight is not trainable");
        summary.ToString().Should().Contain("frozen");
    }

    [Fact]
    public void ShapeAModuleWouldRefuse_IsRefusedWithThatModulesMessage()
    {
        new Action(() => ModelSummary.Of([new Embedding(50, 6), new Gru(8, 4)], 7, 3)).Should().Throw<ArgumentException>()
            .WithMessage("modules[1], GRU(8, 4), refuses input [7, 3, 6]: input.size(-1) must be equal to input_size. Expected 8, got 6*");
        new Action(() => ModelSummary.Of([new Lstm(4, 4)], 2, 3, 4, 5)).Should().Throw<ArgumentException>()
            .WithMessage("modules[0], LSTM(4, 4), refuses input [2, 3, 4, 5]: LSTM: Expected input to be 2D or 3D, got 4D instead*");
        new Action(() => ModelSummary.Of([new Gru(4, 4), new Linear(5, 2)], 3, 2, 4)).Should().Throw<ArgumentException>()
            .WithMessage("modules[1], Linear(in_features=5, out_features=2, bias=True), refuses input [3, 2, 4]: mat1 and mat2 shapes cannot be multiplied*");
        new Action(() => ModelSummary.Of([new Lstm(4, 4)], 0, 2, 4)).Should().Throw<ArgumentException>()
            .WithMessage("*Expected sequence length to be larger than 0*");
        new Action(() => ModelSummary.Of([new Lstm(4, 4)], 2, -1, 4)).Should().Throw<ArgumentException>().WithMessage("*negative*");
        new Action(() => ModelSummary.Of([], 2)).Should().Throw<ArgumentException>().WithMessage("a summary needs at least one module*");
        new Action(() => ModelSummary.Of([new Unknown()], 2)).Should().Throw<ArgumentException>().WithMessage("*Unknown() is none of them*");
    }

    private static int[] Ints(ReadOnlySpan<nint> lengths) => Array.ConvertAll(lengths.ToArray(), n => (int)n);

    private sealed class Unknown : Module
    {
        protected override string TorchName => "Unknown";

        protected override string ExtraRepr() => "";
    }
}
