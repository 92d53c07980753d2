using System;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

/// <summary>pytorch-semantics.md A.8–A.9: packing and packed-input checks in PyTorch's words, plus the ones PyTorch lacks.</summary>
public sealed class PackedErrorTests
{
    private static PackedSequence Packed() => RnnUtils.PackPaddedSequence(T.Random(1, 1f, 5, 3, 4), [5, 3, 2]);

    [Fact]
    public void Lengths_WrongCount_Throws() =>
        new Action(() => RnnUtils.PackPaddedSequence(T.Zeros(5, 3, 4), [5, 3])).Should().Throw<ArgumentException>()
            .WithMessage("Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)*");

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Lengths_ZeroOrNegative_Throws(int length) =>
        new Action(() => RnnUtils.PackPaddedSequence(T.Zeros(5, 3, 4), [5, 3, length], enforceSorted: false)).Should().Throw<ArgumentException>()
            .WithMessage("Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0*");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lengths_LongerThanThePaddedTensor_Throws(bool batchFirst)
    {
        // PyTorch 1.13 does not check this and packs garbage.
        int[] shape = batchFirst ? [3, 5, 4] : [5, 3, 4];
        new Action(() => RnnUtils.PackPaddedSequence(T.Zeros(shape), [6, 3, 2], batchFirst)).Should().Throw<ArgumentException>()
            .WithMessage("Expected every length to be at most the padded sequence length 5, but got lengths[0]=6*");
    }

    [Fact]
    public void Lengths_UnsortedWhenEnforced_Throws() =>
        new Action(() => RnnUtils.PackPaddedSequence(T.Zeros(5, 3, 4), [3, 5, 1])).Should().Throw<ArgumentException>()
            .WithMessage("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass `enforce_sorted=False`*");

    [Fact]
    public void EmptyOrFlatInput_Throws()
    {
        new Action(() => RnnUtils.PackPaddedSequence(T.Zeros(0, 3, 4), [1, 1, 1])).Should().Throw<ArgumentException>().WithMessage("Cannot pack empty tensors.*");
        new Action(() => RnnUtils.PackPaddedSequence(T.Zeros(5), [5])).Should().Throw<ArgumentException>().WithMessage("*at least 2-D (T, B, *), got 1-D*");
    }

    [Fact]
    public void PadPacked_TotalLengthTooShort_Throws() =>
        new Action(() => RnnUtils.PadPackedSequence(Packed(), totalLength: 4)).Should().Throw<ArgumentException>()
            .WithMessage("Expected total_length to be at least the length of the longest sequence in input, but got total_length=4 and max sequence length being 5*");

    [Fact]
    public void PadSequence_EmptyListOrMismatchedTrailingDims_Throws()
    {
        new Action(() => RnnUtils.PadSequence([])).Should().Throw<ArgumentException>().WithMessage("received an empty list of sequences*");
        new Action(() => RnnUtils.PadSequence([T.Zeros(2, 3), T.Zeros(2, 4)])).Should().Throw<ArgumentException>()
            .WithMessage("pad_sequence: every sequence must have the trailing dimensions of the first, [3], but sequences[1] has shape [2, 4]*");
        new Action(() => RnnUtils.PackSequence([T.Zeros(2, 3), T.Zeros(0, 3)], enforceSorted: false)).Should().Throw<ArgumentException>()
            .WithMessage("Length of all samples has to be greater than 0*");
    }

    [Fact]
    public void UnpadSequence_BadLengths_Throws()
    {
        new Action(() => RnnUtils.UnpadSequence(T.Zeros(5, 3, 4), [5, 6, 1])).Should().Throw<ArgumentException>()
            .WithMessage("Expected every length to be in [0, 5] (the padded length), but got lengths[1]=6*");
        new Action(() => RnnUtils.UnpadSequence(T.Zeros(5, 3, 4), [5, 1])).Should().Throw<ArgumentException>()
            .WithMessage("Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)*");
    }

    [Theory]
    [InlineData(new[] { 0, 2, 2 }, "*holds 2 twice*")]
    [InlineData(new[] { 0, 3, 1 }, "*holds 3 (out of range)*")]
    [InlineData(new[] { -1, 0, 1 }, "*holds -1 (out of range)*")]
    public void InvertPermutation_NotAPermutation_Throws(int[] permutation, string message) =>
        new Action(() => RnnUtils.InvertPermutation(permutation)).Should().Throw<ArgumentException>().WithMessage("permutation must be a permutation of 0..2, but" + message);

    [Theory]
    [InlineData(new[] { 2, 3 }, 5, "batch_sizes must be positive and non-increasing, but batch_sizes[1] is 3 after 2*")]
    [InlineData(new[] { 2, 0 }, 2, "batch_sizes must be positive and non-increasing, but batch_sizes[1] is 0 after 2*")]
    [InlineData(new int[0], 0, "batch_sizes must not be empty*")]
    [InlineData(new[] { 3, 2 }, 6, "batch_sizes sum to 5 rows, but the packed data has 6*")]
    public void PackedSequence_InconsistentBatchSizes_Throws(int[] batchSizes, int rows, string message) =>
        new Action(() => _ = new PackedSequence(T.Zeros(rows, 4), batchSizes)).Should().Throw<ArgumentException>().WithMessage(message);

    [Fact]
    public void PackedSequence_BadIndices_Throw()
    {
        new Action(() => _ = new PackedSequence(T.Zeros(5, 4), [3, 2], [0, 1])).Should().Throw<ArgumentException>()
            .WithMessage("sortedIndices must hold one index per sequence (3), got 2*");
        new Action(() => _ = new PackedSequence(T.Zeros(5, 4), [3, 2], [2, 0, 1], [2, 0, 1])).Should().Throw<ArgumentException>()
            .WithMessage("unsortedIndices must be the inverse permutation of sortedIndices*");
        new Action(() => _ = new PackedSequence(T.Zeros(5, 4), [3, 2], default, [2, 0, 1])).Should().Throw<ArgumentException>()
            .WithMessage("unsortedIndices were given without sortedIndices*");
    }

    [Fact]
    public void PackedInput_ChecksAsPyTorch()
    {
        PackedSequence p = Packed();
        new Action(() => new Gru(5, 3).Forward(p)).Should().Throw<ArgumentException>().WithMessage("input.size(-1) must be equal to input_size. Expected 5, got 4*");
        new Action(() => new Gru(4, 3).Forward(new PackedSequence(T.Zeros(10, 1, 4), p.BatchSizes))).Should().Throw<ArgumentException>()
            .WithMessage("input must have 2 dimensions, got 3*");
        new Action(() => new Gru(4, 3).Forward(p, T.Zeros(1, 2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden size (1, 3, 3), got [1, 2, 3]*");
        new Action(() => new Lstm(4, 3).Forward(p, T.Zeros(1, 2, 3), T.Zeros(1, 3, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden[0] size (1, 3, 3), got [1, 2, 3]*");
        new Action(() => new Lstm(4, 3).Forward(p, T.Zeros(1, 3, 3), T.Zeros(1, 2, 3))).Should().Throw<ArgumentException>()
            .WithMessage("Expected hidden[1] size (1, 3, 3), got [1, 2, 3]*");
    }

    [Fact]
    public void PackedSpanOverload_ChecksEverything()
    {
        var rnn = new Rnn(4, 3);
        float[] data = new float[10 * 4], output = new float[10 * 3], hN = new float[3 * 3];
        rnn.Forward(data, [3, 3, 2, 2], default, default, output, hN);
        new Action(() => rnn.Forward(data, [2, 3, 3, 2], default, default, output, hN)).Should().Throw<ArgumentException>()
            .WithMessage("batch_sizes must be positive and non-increasing, but batch_sizes[1] is 3 after 2*");
        new Action(() => rnn.Forward(data.AsSpan(4), [3, 3, 2, 2], default, default, output, hN)).Should().Throw<ArgumentException>()
            .WithMessage("input must hold 40 floats for (sum(lengths)=10, H_in=4), got 36*");
        new Action(() => rnn.Forward(data, [3, 3, 2, 2], [0, 0, 1], default, output, hN)).Should().Throw<ArgumentException>()
            .WithMessage("sortedIndices must be a permutation of 0..2, but holds 0 twice*");
        new Action(() => rnn.Forward(data, [3, 3, 2, 2], default, default, output, hN.AsSpan(3))).Should().Throw<ArgumentException>()
            .WithMessage("hN must hold 9 floats for (1, 3, 3), got 6*");
        new Action(() => rnn.Forward(data, [3, 3, 2, 2], default, default, output.AsSpan(1), hN)).Should().Throw<ArgumentException>()
            .WithMessage("output must hold 30 floats for (sum(lengths)=10, D*H_out=3), got 29*");
        new Action(() => rnn.Forward(data, [3, 3, 2, 2], default, default, data.AsSpan(0, 30), hN)).Should().Throw<ArgumentException>()
            .WithMessage("output must not share memory with input*");
    }
}
