using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// The shape of a batch of sequences as a recurrent layer sees it: length L, batch N, features, and the layout
/// (<c>(L, N, F)</c>, batch-first <c>(N, L, F)</c>, or unbatched <c>(L, F)</c>). It owns every shape check on
/// sequence input and recurrent state, and the messages they give, so all layers refuse bad input in the same words.
/// </summary>
/// <param name="SeqLen">L, the number of time steps.</param>
/// <param name="Batch">N, the number of sequences (1 for unbatched input).</param>
/// <param name="Features">The size of each step's vector.</param>
/// <param name="BatchFirst">Whether a batched tensor is laid out <c>(N, L, F)</c>; never true for unbatched input.</param>
/// <param name="Unbatched">Whether the tensor is 2-D <c>(L, F)</c>, a single sequence without a batch dimension.</param>
public readonly record struct SequenceShape(int SeqLen, int Batch, int Features, bool BatchFirst = false, bool Unbatched = false)
{
    /// <summary>2 for unbatched input, otherwise 3.</summary>
    public int Rank => Unbatched ? 2 : 3;

    /// <summary>L × N × features.</summary>
    /// <exception cref="OverflowException">The product exceeds an int (no array can hold such a sequence).</exception>
    public int ElementCount => checked(SeqLen * Batch * Features);

    /// <summary>The record's text without <see cref="ElementCount"/>, so a shape too large for an array can still be shown (in the error that refuses it).</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"SeqLen = {SeqLen}, Batch = {Batch}, Features = {Features}, BatchFirst = {BatchFirst}, Unbatched = {Unbatched}, Rank = {Rank}");
        return true;
    }

    /// <summary>
    /// Reads the shape of a recurrent layer's input and checks its rank.
    /// <c>batchFirst</c> is ignored for 2-D (unbatched) input, as in PyTorch.
    /// </summary>
    /// <exception cref="ArgumentException">The input is not 2-D or 3-D.</exception>
    public static SequenceShape Of(Tensor<float> input, bool batchFirst, string moduleName = "RNN")
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        int rank = input.Rank;
        if (rank is not 2 and not 3)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"{moduleName}: Expected input to be 2D or 3D, got {rank}D instead"),
                nameof(input));
        }

        if (input.FlattenedLength > Array.MaxLength)
        {
            ThrowHelper.Argument($"input of shape {ShapeText.List(input.Lengths)} has more elements than a .NET array holds ({Array.MaxLength})", nameof(input));
        }

        int Dim(int i) => TensorData.ToInt(input.Lengths[i], input.Lengths);
        if (rank == 2)
        {
            return new SequenceShape(Dim(0), 1, Dim(1), false, true);
        }

        return batchFirst ? new SequenceShape(Dim(1), Dim(0), Dim(2), true) : new SequenceShape(Dim(0), Dim(1), Dim(2));
    }

    /// <summary>
    /// The shape of packed input as a recurrent layer sees it: L = the longest length, N = <c>BatchSizes[0]</c>.
    /// Its data must be 2-D <c>(sum(lengths), H_in)</c>; states are checked against N, as in PyTorch.
    /// </summary>
    /// <exception cref="ArgumentException">The data is not 2-D.</exception>
    public static SequenceShape OfPacked(PackedSequence input)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        if (input.Data.Rank != 2)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"input must have 2 dimensions, got {input.Data.Rank}"), nameof(input));
        }

        return new SequenceShape(input.MaxLength, input.BatchSize, TensorData.Length(input.Data, 1));
    }

    /// <summary>The same sequence batch with another feature size (e.g. the layer's output width).</summary>
    public SequenceShape WithFeatures(int features) => this with { Features = features };

    /// <summary>The tensor lengths in this layout: <c>(L, N, F)</c>, <c>(N, L, F)</c> or <c>(L, F)</c>.</summary>
    public nint[] ToLengths() =>
        Unbatched ? [SeqLen, Features] : BatchFirst ? [Batch, SeqLen, Features] : [SeqLen, Batch, Features];

    /// <summary>The lengths of a recurrent state for this batch: <c>(numStates, N, width)</c>, or <c>(numStates, width)</c> unbatched.</summary>
    public nint[] StateLengths(int numStates, int width) =>
        Unbatched ? [numStates, width] : [numStates, Batch, width];

    /// <summary>Describes each dimension, e.g. <c>(L=5, N=3, H_in=10)</c> or, batch-first, <c>(N=3, L=5, H_in=10)</c>.</summary>
    public string Describe(string featureName) =>
        Unbatched
            ? string.Create(CultureInfo.InvariantCulture, $"(L={SeqLen}, {featureName}={Features})")
            : BatchFirst
                ? string.Create(CultureInfo.InvariantCulture, $"(N={Batch}, L={SeqLen}, {featureName}={Features})")
                : string.Create(CultureInfo.InvariantCulture, $"(L={SeqLen}, N={Batch}, {featureName}={Features})");

    /// <summary>Refuses input whose last dimension is not the layer's input size.</summary>
    internal void CheckFeatures(int inputSize)
    {
        if (Features != inputSize)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"input.size(-1) must be equal to input_size. Expected {inputSize}, got {Features}"),
                "input");
        }
    }

    /// <summary>Refuses a sequence of length 0, as PyTorch's kernel does.</summary>
    internal void CheckSeqLen()
    {
        if (SeqLen == 0)
        {
            ThrowHelper.Argument("Expected sequence length to be larger than 0 in RNN", "input");
        }
    }

    /// <summary>The rank of h0 (and c0) must match the input's: 3-D for batched input, 2-D for unbatched.</summary>
    internal void CheckStateRank(Tensor<float>? h0, Tensor<float>? c0)
    {
        int expected = Rank;
        string kind = Unbatched ? "unbatched 2-D" : "batched 3-D";
        if (h0 is not null && c0 is not null && (h0.Rank != expected || c0.Rank != expected))
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"For {kind} input, hx and cx should also be {expected}-D but got ({h0.Rank}-D, {c0.Rank}-D) tensors"),
                h0.Rank != expected ? "h0" : "c0");
        }

        if (h0 is not null && h0.Rank != expected)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"For {kind} input, hx should also be {expected}-D but got {h0.Rank}-D tensor"), nameof(h0));
        }

        if (c0 is not null && c0.Rank != expected)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"For {kind} input, cx should also be {expected}-D but got {c0.Rank}-D tensor"), nameof(c0));
        }
    }

    /// <summary>Refuses a state tensor whose shape is not <see cref="StateLengths"/>; <paramref name="label"/> is PyTorch's name (<c>hidden</c>, <c>hidden[0]</c>).</summary>
    internal void CheckState(Tensor<float> state, int numStates, int width, string label, string paramName)
    {
        nint[] expected = StateLengths(numStates, width);
        if (!state.Lengths.SequenceEqual(expected))
        {
            ThrowHelper.Argument(
                $"Expected {label} size {ShapeText.Tuple(expected)}, got {ShapeText.List(state.Lengths)}",
                paramName);
        }
    }

    /// <summary>A gradient passed to Backward must have the shape of the forward tensor it belongs to.</summary>
    internal static void CheckGradient(Tensor<float> gradient, nint[] expected, string paramName)
    {
        if (!gradient.Lengths.SequenceEqual(expected))
        {
            ThrowHelper.Argument($"{paramName} must have the forward tensor's shape {ShapeText.List(expected)}, got {ShapeText.List(gradient.Lengths)}", paramName);
        }
    }
}
