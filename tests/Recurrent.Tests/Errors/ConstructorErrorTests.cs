using System;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

public sealed class ConstructorErrorTests
{
    private const string DropoutMessage = "dropout should be a number in range [0, 1] representing the probability of an element being zeroed*";

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Dropout_OutsideUnitInterval_Throws(float dropout)
    {
        new Action(() => _ = new Lstm(3, 4, 2, dropout: dropout)).Should().Throw<ArgumentOutOfRangeException>().WithMessage(DropoutMessage);
        new Action(() => _ = new Gru(3, 4, 2, dropout: dropout)).Should().Throw<ArgumentException>().WithMessage(DropoutMessage);
        new Action(() => _ = new Rnn(3, 4, 2, dropout: dropout)).Should().Throw<ArgumentException>().WithMessage(DropoutMessage);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public void Dropout_AtTheEnds_IsAccepted(float dropout) =>
        new Lstm(3, 4, 2, dropout: dropout).Dropout.Should().Be(dropout);

    /// <summary>
    /// Sizes whose gates × hidden_size wraps an int (ArgumentOutOfRangeException) or whose weights exceed an array
    /// (ArgumentException naming the weight) are refused before anything of the weights' size is allocated.
    /// </summary>
    [Theory]
    [InlineData("lstm", 1, 1 << 30, "*gives weights of 4294967296 rows*")]
    [InlineData("lstm", 1, 1 << 29, "*gives weights of 2147483648 rows*")]
    [InlineData("gru", 1, 715827883, "*gives weights of 2147483649 rows*")]
    [InlineData("lstmcell", 1, 1 << 30, "*gives weights of 4294967296 rows*")]
    [InlineData("grucell", 1, 715827883, "*gives weights of 2147483649 rows*")]
    [InlineData("lstm", 1, 1 << 28, "weight_hh_l0 of shape [1073741824, 268435456] would have more than*")]
    [InlineData("rnn", 100_000, 100_000, "weight_ih_l0 of shape [100000, 100000] would have more than*")]
    [InlineData("grucell", 40_000, 40_000, "weight_ih of shape [120000, 40000] would have more than*")]
    public void HiddenSize_TooLargeForAnArray_ThrowsBeforeAllocating(string kind, int inputSize, int hiddenSize, string message)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Action create = kind switch
        {
            "lstm" => () => _ = new Lstm(inputSize, hiddenSize),
            "gru" => () => _ = new Gru(inputSize, hiddenSize),
            "rnn" => () => _ = new Rnn(inputSize, hiddenSize),
            "lstmcell" => () => _ = new LstmCell(inputSize, hiddenSize),
            _ => () => _ = new GruCell(inputSize, hiddenSize),
        };
        create.Should().Throw<ArgumentException>().WithMessage(message).And.ParamName.Should().Be("hiddenSize");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20, "nothing of the weights' size was allocated");
    }

    [Fact]
    public void ProjSize_Negative_Throws() =>
        new Action(() => _ = new Lstm(3, 4, projSize: -1)).Should().Throw<ArgumentException>()
            .WithMessage("proj_size should be a positive integer or zero to disable projections*");

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void ProjSize_NotSmallerThanHidden_Throws(int projSize) =>
        new Action(() => _ = new Lstm(3, 4, projSize: projSize)).Should().Throw<ArgumentException>()
            .WithMessage("proj_size has to be smaller than hidden_size*");

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void HiddenSize_NotPositive_Throws(int hiddenSize)
    {
        new Action(() => _ = new Gru(3, hiddenSize)).Should().Throw<ArgumentException>().WithMessage("hidden_size must be greater than zero*");
        new Action(() => _ = new Rnn(3, hiddenSize)).Should().Throw<ArgumentException>().WithMessage("hidden_size must be greater than zero*");
    }

    [Fact]
    public void NumLayers_Zero_Throws() =>
        new Action(() => _ = new Lstm(3, 4, numLayers: 0)).Should().Throw<ArgumentException>().WithMessage("num_layers must be greater than zero*");

    [Fact]
    public void InputSize_Negative_Throws()
    {
        new Action(() => _ = new Lstm(-1, 4)).Should().Throw<ArgumentException>().WithMessage("input_size must be zero or greater*");
        new Action(() => _ = new GruCell(-1, 4)).Should().Throw<ArgumentException>().WithMessage("input_size must be zero or greater*");
    }

    [Fact]
    public void Nonlinearity_Undefined_Throws()
    {
        new Action(() => _ = new Rnn(3, 4, nonlinearity: (Nonlinearity)7)).Should().Throw<ArgumentException>()
            .WithMessage("Unknown nonlinearity '7'. Select from 'tanh' or 'relu'.*");
        new Action(() => _ = new RnnCell(3, 4, nonlinearity: (Nonlinearity)7)).Should().Throw<ArgumentException>()
            .WithMessage("Unknown nonlinearity '7'*");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-11)]
    public void Embedding_PaddingIdxOutsideTable_Throws(int paddingIdx) =>
        new Action(() => _ = new Embedding(10, 3, paddingIdx)).Should().Throw<ArgumentException>()
            .WithMessage($"Padding_idx must be within num_embeddings: expected -10 <= padding_idx < 10, got {paddingIdx}*");

    [Fact]
    public void Embedding_NegativePaddingIdx_IsNormalised() => new Embedding(10, 3, -1).PaddingIdx.Should().Be(9);

    [Fact]
    public void Embedding_NegativeSizes_Throw()
    {
        new Action(() => _ = new Embedding(-1, 3)).Should().Throw<ArgumentException>().WithMessage("num_embeddings must be zero or greater*");
        new Action(() => _ = new Embedding(3, -1)).Should().Throw<ArgumentException>().WithMessage("embedding_dim must be zero or greater*");
    }

    [Fact]
    public void FromPretrained_Not2D_Throws()
    {
        new Action(() => Embedding.FromPretrained(T.Zeros(2, 3, 4))).Should().Throw<ArgumentException>()
            .WithMessage("Embeddings parameter is expected to be 2-dimensional, got 3-dimensional [2, 3, 4]*");
        new Action(() => Embedding.FromPretrained(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void FromPretrained_PaddingIdxOutsideTable_Throws() =>
        new Action(() => Embedding.FromPretrained(T.Zeros(4, 3), paddingIdx: 4)).Should().Throw<ArgumentException>()
            .WithMessage("Padding_idx must be within num_embeddings*");

    [Fact]
    public void Sizes_WhoseWeightsExceedAnArray_ThrowArgumentException()
    {
        new Action(() => _ = new Lstm(10, 50_000)).Should().Throw<ArgumentException>()
            .WithMessage("weight_hh_l0 of shape [200000, 50000] would have more than * elements*");
        new Action(() => _ = new Embedding(1 << 20, 1 << 12)).Should().Throw<ArgumentException>()
            .WithMessage("weight of shape [1048576, 4096] would have more than * elements*");
    }
}
