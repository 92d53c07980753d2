using System;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

/// <summary>Sizes whose products overflow an int get an ArgumentException that says so, never an overflow or index exception.</summary>
public sealed class OverflowErrorTests
{
    [Fact]
    public void LinearForward_OutputLargerThanAnArray_IsRefused() =>
        new Action(() => new Linear(1, 4096).Forward(Tensor.Create(new float[1 << 20], [1 << 20, 1]))).Should().Throw<ArgumentException>()
            .WithMessage("input [1048576, 1] has 1048576 rows: the output of 4294967296 elements (out_features=4096) would be more than a .NET array holds*");

    [Fact]
    public void SequenceShape_TooLargeForAnArray_StillPrints() =>
        new SequenceShape(65536, 65536, 3).ToString().Should().Be("SequenceShape { SeqLen = 65536, Batch = 65536, Features = 3, BatchFirst = False, Unbatched = False, Rank = 3 }");

    [Fact]
    public void SpanForward_ShapeTooLargeForAnArray_IsAnArgumentException() =>
        new Action(() => new Gru(3, 4).Eval().Forward(new float[6], new SequenceShape(65536, 65536, 3), default, new float[8], new float[8]))
            .Should().Throw<ArgumentException>().WithMessage("input must hold 12884901888 floats for (L=65536, N=65536, H_in=3), got 6*");

    [Fact]
    public void CellOfNoUnits_Backward_GivesZeroInputGradient()
    {
        var cell = new GruCell(4, 0);
        cell.Forward(T.Random(1, 1f, 2, 4));
        CellGradients g = cell.Backward(Tensor.Create(Array.Empty<float>(), [2, 0]));
        g.GradInput.Lengths.ToArray().Should().Equal(2, 4);
        T.Values(g.GradInput).Should().OnlyContain(v => v == 0f);
        g.GradH.Lengths.ToArray().Should().Equal(2, 0);
    }

    [Fact]
    public void PadPackedSequence_TotalLengthLargerThanAnArray_IsRefused()
    {
        PackedSequence packed = RnnUtils.PackSequence([Tensor.Create(new float[6], [3, 2]), Tensor.Create(new float[4], [2, 2])]);
        new Action(() => RnnUtils.PadPackedSequence(packed, totalLength: int.MaxValue)).Should().Throw<ArgumentException>()
            .WithMessage("padding 2 sequences to 2147483647 steps of 2 features would need 8589934588 elements, more than a .NET array holds*")
            .And.ParamName.Should().Be("totalLength");
    }

    [Fact]
    public void PadSequence_OfLongEmptySequences_IsAcceptedAsPyTorchDoes()
    {
        Tensor<float> padded = RnnUtils.PadSequence([Tensor.Create(Array.Empty<float>(), [int.MaxValue, 0]), Tensor.Create(Array.Empty<float>(), [int.MaxValue, 0])]);
        padded.Lengths.ToArray().Should().Equal(int.MaxValue, 2, 0);
    }

    /// <summary>A batch of no sequences computes nothing, however long: no per-step memory, empty outputs and gradients.</summary>
    [Fact]
    public void LayerForwardAndBackward_OnAnEmptyBatch_AllocateNothingPerStep()
    {
        var gru = new Gru(1, 16);
        long before = GC.GetAllocatedBytesForCurrentThread();
        (Tensor<float> output, Tensor<float> hN) = gru.Forward(Tensor.Create(Array.Empty<float>(), [1 << 29, 0, 1]));
        RnnGradients grads = gru.Backward(output);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
        output.Lengths.ToArray().Should().Equal(1 << 29, 0, 16);
        hN.Lengths.ToArray().Should().Equal(1, 0, 16);
        grads.GradInput.Lengths.ToArray().Should().Equal(1 << 29, 0, 1);
        grads.GradH0.Lengths.ToArray().Should().Equal(1, 0, 16);
    }
}
