using System;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

/// <summary>The forward-time checks of pytorch-semantics.md A.5, in PyTorch's words.</summary>
public sealed class ForwardErrorTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Input_Not2DOr3D_Throws(int rank)
    {
        int[] shape = rank == 1 ? [4] : [2, 3, 4, 5];
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(shape))).Should().Throw<ArgumentException>()
            .WithMessage($"LSTM: Expected input to be 2D or 3D, got {rank}D instead*");
        new Action(() => new Gru(4, 3).Forward(T.Zeros(shape))).Should().Throw<ArgumentException>()
            .WithMessage($"GRU: Expected input to be 2D or 3D, got {rank}D instead*");
        new Action(() => new Rnn(4, 3).Forward(T.Zeros(shape))).Should().Throw<ArgumentException>()
            .WithMessage($"RNN: Expected input to be 2D or 3D, got {rank}D instead*");
    }

    [Fact]
    public void Input_WrongFeatureSize_Throws()
    {
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(5, 2, 7))).Should().Throw<ArgumentException>()
            .WithMessage("input.size(-1) must be equal to input_size. Expected 4, got 7*");
        new Action(() => new Gru(4, 3, batchFirst: true).Forward(T.Zeros(2, 5, 7))).Should().Throw<ArgumentException>()
            .WithMessage("input.size(-1) must be equal to input_size. Expected 4, got 7*");
        new Action(() => new Rnn(4, 3).Forward(T.Zeros(5, 7))).Should().Throw<ArgumentException>()
            .WithMessage("input.size(-1) must be equal to input_size. Expected 4, got 7*");
    }

    [Fact]
    public void Hidden_WrongShape_Throws()
    {
        new Action(() => new Gru(4, 3).Forward(T.Zeros(5, 2, 4), T.Zeros(2, 2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden size (1, 2, 3), got [2, 2, 3]*");
        new Action(() => new Rnn(4, 3, 2, bidirectional: true).Forward(T.Zeros(5, 2, 4), T.Zeros(4, 2, 5))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden size (4, 2, 3), got [4, 2, 5]*");
    }

    [Fact]
    public void Hidden_WrongShapeForUnbatchedInput_NamesTheTwoDimensionalShape() =>
        new Action(() => new Gru(4, 3).Forward(T.Zeros(5, 4), T.Zeros(2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden size (1, 3), got [2, 3]*");

    [Fact]
    public void Lstm_StatesWrongShape_Throw()
    {
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(5, 2, 4), T.Zeros(1, 3, 3), T.Zeros(1, 2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden[0] size (1, 2, 3), got [1, 3, 3]*");
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(5, 2, 4), T.Zeros(1, 2, 3), T.Zeros(1, 2, 4))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden[1] size (1, 2, 3), got [1, 2, 4]*");
    }

    [Fact]
    public void Lstm_ProjectedHiddenState_IsProjSizeWide() =>
        new Action(() => new Lstm(4, 6, projSize: 2).Forward(T.Zeros(5, 2, 4), T.Zeros(1, 2, 6))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden[0] size (1, 2, 2), got [1, 2, 6]*");

    [Fact]
    public void Hidden_WrongRank_Throws()
    {
        new Action(() => new Gru(4, 3).Forward(T.Zeros(5, 2, 4), T.Zeros(2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("For batched 3-D input, hx should also be 3-D but got 2-D tensor*");
        new Action(() => new Rnn(4, 3).Forward(T.Zeros(5, 4), T.Zeros(1, 1, 3))).Should().Throw<ArgumentException>()
            .WithMessage("For unbatched 2-D input, hx should also be 2-D but got 3-D tensor*");
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(5, 2, 4), T.Zeros(1, 3), T.Zeros(1, 3))).Should().Throw<ArgumentException>()
            .WithMessage("For batched 3-D input, hx and cx should also be 3-D but got (2-D, 2-D) tensors*");
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(5, 4), T.Zeros(1, 1, 3), T.Zeros(1, 1, 3))).Should().Throw<ArgumentException>()
            .WithMessage("For unbatched 2-D input, hx and cx should also be 2-D but got (3-D, 3-D) tensors*");
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(5, 2, 4), c0: T.Zeros(1, 3))).Should().Throw<ArgumentException>()
            .WithMessage("For batched 3-D input, cx should also be 3-D but got 2-D tensor*");
    }

    [Fact]
    public void Input_ZeroLengthSequence_Throws()
    {
        new Action(() => new Lstm(4, 3).Forward(T.Zeros(0, 2, 4))).Should().Throw<ArgumentException>()
            .WithMessage("Expected sequence length to be larger than 0 in RNN*");
        new Action(() => new Gru(4, 3, batchFirst: true).Forward(T.Zeros(2, 0, 4))).Should().Throw<ArgumentException>()
            .WithMessage("Expected sequence length to be larger than 0 in RNN*");
    }

    [Fact]
    public void Checks_RunInPyTorchOrder_InputRankBeforeStateRankBeforeInputSizeBeforeStateSize()
    {
        var gru = new Gru(4, 3);
        new Action(() => gru.Forward(T.Zeros(5, 2, 7), T.Zeros(2, 3))).Should().Throw<ArgumentException>().WithMessage("For batched 3-D input*");
        new Action(() => gru.Forward(T.Zeros(5, 2, 7), T.Zeros(9, 2, 3))).Should().Throw<ArgumentException>().WithMessage("input.size(-1)*");
        new Action(() => gru.Forward(T.Zeros(0, 2, 4), T.Zeros(9, 2, 3))).Should().Throw<ArgumentException>().WithMessage("Expected hidden size*");
    }

    [Fact]
    public void NullInput_ThrowsArgumentNull()
    {
        new Action(() => new Lstm(4, 3).Forward((System.Numerics.Tensors.Tensor<float>)null!)).Should().Throw<ArgumentNullException>();
        new Action(() => new Lstm(4, 3).Forward((PackedSequence)null!)).Should().Throw<ArgumentNullException>();
        new Action(() => new GruCell(4, 3).Forward(null!)).Should().Throw<ArgumentNullException>();
        new Action(() => new Embedding(4, 3).Forward((System.Numerics.Tensors.Tensor<long>)null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Cell_InputNot1DOr2D_Throws()
    {
        new Action(() => new LstmCell(4, 3).Forward(T.Zeros(1, 2, 4))).Should().Throw<ArgumentException>()
            .WithMessage("LSTMCell: Expected input to be 1D or 2D, got 3D instead*");
        new Action(() => new GruCell(4, 3).Forward(T.Zeros(1, 2, 4))).Should().Throw<ArgumentException>()
            .WithMessage("GRUCell: Expected input to be 1D or 2D, got 3D instead*");
    }

    [Fact]
    public void Cell_HiddenNot1DOr2D_Throws()
    {
        new Action(() => new RnnCell(4, 3).Forward(T.Zeros(2, 4), T.Zeros(1, 2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("RNNCell: Expected hidden to be 1D or 2D, got 3D instead*");
        new Action(() => new LstmCell(4, 3).Forward(T.Zeros(2, 4), T.Zeros(1, 2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("LSTMCell: Expected hx[0] to be 1D or 2D, got 3D instead*");
        new Action(() => new LstmCell(4, 3).Forward(T.Zeros(4), T.Zeros(3), T.Zeros(1, 3))).Should().Throw<ArgumentException>()
            .WithMessage("LSTMCell: Expected hx[1] to be 1D like the input, got 2D instead*");
    }

    [Fact]
    public void Cell_WrongInputSize_Throws() =>
        new Action(() => new GruCell(4, 3).Forward(T.Zeros(2, 5))).Should().Throw<ArgumentException>()
            .WithMessage("input has inconsistent input_size: got 5 expected 4*");

    [Fact]
    public void Cell_BatchMismatch_Throws()
    {
        new Action(() => new RnnCell(4, 3).Forward(T.Zeros(2, 4), T.Zeros(3, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Input batch size 2 doesn't match hidden0 batch size 3*");
        new Action(() => new LstmCell(4, 3).Forward(T.Zeros(2, 4), T.Zeros(2, 3), T.Zeros(3, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Input batch size 2 doesn't match hidden1 batch size 3*");
    }

    [Fact]
    public void Cell_HiddenWidthMismatch_Throws()
    {
        new Action(() => new GruCell(4, 3).Forward(T.Zeros(2, 4), T.Zeros(2, 4))).Should().Throw<ArgumentException>()
            .WithMessage("hidden0 has inconsistent hidden_size: got 4, expected 3*");
        new Action(() => new LstmCell(4, 3).Forward(T.Zeros(4), T.Zeros(3), T.Zeros(5))).Should().Throw<ArgumentException>()
            .WithMessage("hidden1 has inconsistent hidden_size: got 5, expected 3*");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-1)]
    [InlineData(long.MaxValue)]
    public void Embedding_IndexOutOfRange_ThrowsAndChangesNothing(long bad)
    {
        var embedding = new Embedding(10, 3, maxNorm: 0.1f, seed: 1);
        float[] before = T.Values(embedding.Weight.Data);
        var indices = System.Numerics.Tensors.Tensor.Create(new long[] { 1, 2, bad, 3 }, [4]);
        new Action(() => embedding.Forward(indices)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"index out of range in self: expected indices in [0, 10), got {bad} at flat position 2*");
        T.Values(embedding.Weight.Data).Should().Equal(before, "a refused call must not renormalise any row");
    }

    [Fact]
    public void Embedding_IntIndexOutOfRange_Throws() =>
        new Action(() => new Embedding(4, 2).Forward(System.Numerics.Tensors.Tensor.Create(new[] { 4 }, [1]))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("index out of range in self*");

    [Fact]
    public void Input_BroadcastBeyondAnArray_ThrowsArgumentException()
    {
        // Zero strides let a one-element tensor claim 2^40 elements.
        var huge = System.Numerics.Tensors.Tensor.Create(new float[1], [1 << 20, 1 << 20, 4], [0, 0, 0]);
        new Action(() => new Gru(4, 3).Forward(huge)).Should().Throw<ArgumentException>()
            .WithMessage("input of shape [1048576, 1048576, 4] has more elements than a .NET array holds*");
    }
}
