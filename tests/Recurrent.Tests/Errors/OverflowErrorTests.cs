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

    // Found by PublicApiFuzzTests; each threw an OverflowException or OutOfMemoryException, or allocated gigabytes first.

    [Fact]
    public void LayersTooManyToHold_AreRefusedBeforeAnythingIsAllocated()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        new Action(() => _ = new Lstm(1, 65536, numLayers: int.MaxValue - 1)).Should().Throw<ArgumentException>();
        new Action(() => _ = new Lstm(1, 1, numLayers: 1 << 30, bidirectional: true)).Should().Throw<ArgumentException>()
            .WithMessage("LSTM with num_layers=1073741824, bidirectional, hidden_size=1 would need about * bytes for its weights, more than the * bytes this process may use*").And.ParamName.Should().Be("numLayers");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Fact]
    public void PadSequence_StepLargerThanAnArray_IsRefused() =>
        new Action(() => RnnUtils.PadSequence([Broadcast(1, 4, int.MaxValue)], batchFirst: true)).Should().Throw<ArgumentException>()
            .WithMessage("a step of trailing shape [4, 2147483647] has more elements than a .NET array holds*");

    [Fact]
    public void CellForward_InputLargerThanAnArray_IsRefusedBeforeAllocating()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        new Action(() => new RnnCell(2, 3).Forward(Broadcast(int.MaxValue, 2))).Should().Throw<ArgumentException>()
            .WithMessage("input of shape [2147483647, 2] has more elements than a .NET array holds*");
        new Action(() => new LstmCell(4, 1).Forward(Broadcast(1 << 30, 4))).Should().Throw<ArgumentException>();
        new Action(() => new GruCell(1, 3).Forward(Broadcast(1 << 30, 1))).Should().Throw<ArgumentException>()
            .WithMessage("input of shape [1073741824, 1] gives h' of 3221225472 elements (N=1073741824 × hidden_size=3), more than a .NET array holds*");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Fact]
    public void LinearForward_MoreRowsThanAnArray_IsRefused() =>
        new Action(() => new Linear(0, 1).Forward(Tensor.Create(Array.Empty<float>(), [int.MaxValue, 2, 1, 0]))).Should().Throw<ArgumentException>()
            .WithMessage("input [2147483647, 2, 1, 0] has more rows than a .NET array holds*");

    [Fact]
    public void PackPaddedSequence_InputLargerThanAnArray_IsRefusedBeforeTheLengthsSizeAnything()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        new Action(() => RnnUtils.PackPaddedSequence(Broadcast(int.MaxValue, 4, 3), [715827883, 3, 3, 1048576], enforceSorted: false))
            .Should().Throw<ArgumentException>().WithMessage("input of shape [2147483647, 4, 3] has more elements than a .NET array holds*");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    /// <summary>A tensor of the given lengths whose every element is one stored value (all strides 0).</summary>
    private static Tensor<float> Broadcast(params nint[] lengths) => Tensor.Create([0.5f], lengths, new nint[lengths.Length]);
}
