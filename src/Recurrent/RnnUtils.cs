using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// <c>torch.nn.utils.rnn</c>: packing and padding of variable-length sequences. Lengths are given as spans of
/// <see cref="int"/>; every function checks them (PyTorch does not check a length longer than the padded tensor).
/// Tensors may have any trailing dimensions <c>*</c> after time and batch.
/// </summary>
public static class RnnUtils
{
    /// <summary>Packs a padded batch, <c>pack_padded_sequence</c>.</summary>
    /// <param name="input"><c>(T, B, *)</c>, or <c>(B, T, *)</c> when <paramref name="batchFirst"/>.</param>
    /// <param name="lengths">Each sequence's length, in [1, T]; in decreasing order unless <paramref name="enforceSorted"/> is off.</param>
    /// <param name="batchFirst">Whether the batch is the first dimension.</param>
    /// <param name="enforceSorted">Whether to require sorted lengths; when off, the batch is sorted and the order kept in <see cref="PackedSequence.SortedIndices"/>.</param>
    /// <exception cref="ArgumentException">The input is not at least 2-D or empty, or the lengths do not fit it.</exception>
    public static PackedSequence PackPaddedSequence(Tensor<float> input, ReadOnlySpan<int> lengths, bool batchFirst = false, bool enforceSorted = true)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        if (input.Rank < 2)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"pack_padded_sequence: Expected input to be at least 2-D (T, B, *), got {input.Rank}-D"), nameof(input));
        }

        if (input.FlattenedLength == 0)
        {
            ThrowHelper.Argument($"Cannot pack empty tensors. (input of shape {ShapeText.List(input.Lengths)})", nameof(input));
        }

        // Refused before the lengths size anything (the batch sizes are as long as the longest sequence).
        if (input.FlattenedLength > Array.MaxLength)
        {
            ThrowHelper.Argument($"input of shape {ShapeText.List(input.Lengths)} has more elements than a .NET array holds ({Array.MaxLength})", nameof(input));
        }

        int steps = TensorData.Length(input, batchFirst ? 1 : 0);
        int batch = TensorData.Length(input, batchFirst ? 0 : 1);
        PackedChecks.Lengths(lengths, batch, steps, enforceSorted);
        int[]? sorted = enforceSorted ? null : SortDescending(lengths);
        int[] batchSizes = BatchSizesOf(lengths, sorted);
        int features = checked((int)(input.FlattenedLength / ((long)steps * batch)));
        ReadOnlySpan<float> source = TensorData.Read(input);
        int total = 0;
        foreach (int n in batchSizes)
        {
            total += n;
        }

        float[] data = GC.AllocateUninitializedArray<float>(checked(total * features));
        int row = 0;
        for (int t = 0; t < batchSizes.Length; t++)
        {
            for (int b = 0; b < batchSizes[t]; b++, row++)
            {
                int caller = sorted is null ? b : sorted[b];
                int at = PaddedRow(batchFirst, steps, batch, t, caller);
                source.Slice(at * features, features).CopyTo(data.AsSpan(row * features, features));
            }
        }

        return new PackedSequence(Tensor.Create(data, RowLengths(total, input.Lengths[2..])), batchSizes, sorted);
    }

    /// <summary>Unpacks to a padded batch, <c>pad_packed_sequence</c>: the inverse of <see cref="PackPaddedSequence"/>.</summary>
    /// <param name="sequence">The packed batch.</param>
    /// <param name="batchFirst">Whether to return <c>(B, T, *)</c> rather than <c>(T, B, *)</c>.</param>
    /// <param name="paddingValue">The value of every padded element.</param>
    /// <param name="totalLength">Pads to this many steps instead of the longest length.</param>
    /// <exception cref="ArgumentException"><paramref name="totalLength"/> is shorter than the longest sequence.</exception>
    public static PaddedSequence PadPackedSequence(PackedSequence sequence, bool batchFirst = false, float paddingValue = 0f, int? totalLength = null)
    {
        if (sequence is null)
        {
            ThrowHelper.Null(nameof(sequence));
        }

        ReadOnlySpan<int> batchSizes = sequence.BatchSizes;
        int maxLength = batchSizes.Length;
        if (totalLength is int requested && requested < maxLength)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"Expected total_length to be at least the length of the longest sequence in input, but got total_length={requested} and max sequence length being {maxLength}"),
                nameof(totalLength));
        }

        int steps = totalLength ?? maxLength;
        int batch = sequence.BatchSize;
        ReadOnlySpan<nint> trailing = sequence.Data.Lengths[1..];
        int features = Features(trailing);
        ReadOnlySpan<float> source = TensorData.Read(sequence.Data);
        ReadOnlySpan<int> sorted = sequence.SortedIndices;
        float[] padded = GC.AllocateUninitializedArray<float>(PaddedElements(steps, batch, features, nameof(totalLength)));
        padded.AsSpan().Fill(paddingValue);
        var lengths = new int[batch];
        int row = 0;
        for (int t = 0; t < maxLength; t++)
        {
            for (int b = 0; b < batchSizes[t]; b++, row++)
            {
                int caller = sorted.IsEmpty ? b : sorted[b];
                int at = PaddedRow(batchFirst, steps, batch, t, caller);
                source.Slice(row * features, features).CopyTo(padded.AsSpan(at * features, features));
                lengths[caller] = t + 1;
            }
        }

        return new PaddedSequence(Tensor.Create(padded, PaddedLengths(batchFirst, steps, batch, trailing)), lengths);
    }

    /// <summary>Stacks sequences of different lengths into one padded tensor, <c>pad_sequence</c>.</summary>
    /// <param name="sequences">Tensors <c>(L_i, *)</c> with the same trailing dimensions.</param>
    /// <param name="batchFirst">Whether to return <c>(B, T, *)</c> rather than <c>(T, B, *)</c>.</param>
    /// <param name="paddingValue">The value of every padded element.</param>
    /// <param name="paddingSide">Whether padding follows (right) or precedes (left) each shorter sequence.</param>
    /// <exception cref="ArgumentException">The list is empty, or the sequences' trailing dimensions differ.</exception>
    public static Tensor<float> PadSequence(IReadOnlyList<Tensor<float>> sequences, bool batchFirst = false, float paddingValue = 0f, PaddingSide paddingSide = PaddingSide.Right)
    {
        if (sequences is null)
        {
            ThrowHelper.Null(nameof(sequences));
        }

        if (sequences.Count == 0)
        {
            ThrowHelper.Argument("received an empty list of sequences", nameof(sequences));
        }

        if (paddingSide is not PaddingSide.Right and not PaddingSide.Left)
        {
            ThrowHelper.Argument($"Expected padding_side to be one of left or right, but got {paddingSide}.", nameof(paddingSide));
        }

        ReadOnlySpan<nint> trailing = CheckSequence(sequences, 0).Lengths[1..];
        int batch = sequences.Count;
        int steps = 0;
        for (int b = 0; b < batch; b++)
        {
            Tensor<float> s = CheckSequence(sequences, b);
            if (!s.Lengths[1..].SequenceEqual(trailing))
            {
                ThrowHelper.Argument(
                    $"pad_sequence: every sequence must have the trailing dimensions of the first, {ShapeText.List(trailing)}, but sequences[{b}] has shape {ShapeText.List(s.Lengths)}",
                    nameof(sequences));
            }

            steps = Math.Max(steps, TensorData.Length(s, 0));
        }

        int features = Features(trailing);
        float[] padded = GC.AllocateUninitializedArray<float>(PaddedElements(steps, batch, features, nameof(sequences)));
        padded.AsSpan().Fill(paddingValue);
        for (int b = 0; b < batch && features > 0; b++)
        {
            ReadOnlySpan<float> source = TensorData.Read(sequences[b]);
            int length = TensorData.Length(sequences[b], 0);
            int shift = paddingSide == PaddingSide.Left ? steps - length : 0;
            for (int t = 0; t < length; t++)
            {
                int at = PaddedRow(batchFirst, steps, batch, t + shift, b);
                source.Slice(t * features, features).CopyTo(padded.AsSpan(at * features, features));
            }
        }

        return Tensor.Create(padded, PaddedLengths(batchFirst, steps, batch, trailing));
    }

    /// <summary>Packs a list of sequences, <c>pack_sequence</c>: <see cref="PadSequence"/> then <see cref="PackPaddedSequence"/>.</summary>
    /// <param name="sequences">Tensors <c>(L_i, *)</c>, each at least one step long; longest first unless <paramref name="enforceSorted"/> is off.</param>
    /// <param name="enforceSorted">Whether to require decreasing lengths.</param>
    /// <exception cref="ArgumentException">The list is empty, a sequence is empty, the lengths are unsorted, or the trailing dimensions differ.</exception>
    public static PackedSequence PackSequence(IReadOnlyList<Tensor<float>> sequences, bool enforceSorted = true)
    {
        if (sequences is null)
        {
            ThrowHelper.Null(nameof(sequences));
        }

        var lengths = new int[sequences.Count];
        for (int b = 0; b < lengths.Length; b++)
        {
            lengths[b] = TensorData.Length(CheckSequence(sequences, b), 0);
        }

        return PackPaddedSequence(PadSequence(sequences), lengths, false, enforceSorted);
    }

    /// <summary>Splits a packed batch into its sequences in the caller's order, <c>unpack_sequence</c>.</summary>
    public static Tensor<float>[] UnpackSequence(PackedSequence sequence)
    {
        (Tensor<float> padded, int[] lengths) = PadPackedSequence(sequence, batchFirst: true);
        return UnpadSequence(padded, lengths, batchFirst: true);
    }

    /// <summary>Splits a padded batch into its sequences, <c>unpad_sequence</c>. Unlike PyTorch's, it leaves <paramref name="padded"/> unchanged.</summary>
    /// <param name="padded"><c>(T, B, *)</c>, or <c>(B, T, *)</c> when <paramref name="batchFirst"/>.</param>
    /// <param name="lengths">Each sequence's length, in [0, T].</param>
    /// <param name="batchFirst">Whether the batch is the first dimension.</param>
    /// <exception cref="ArgumentException">The tensor is not at least 2-D or a length does not fit it.</exception>
    public static Tensor<float>[] UnpadSequence(Tensor<float> padded, ReadOnlySpan<int> lengths, bool batchFirst = false)
    {
        if (padded is null)
        {
            ThrowHelper.Null(nameof(padded));
        }

        if (padded.Rank < 2)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"unpad_sequence: Expected padded_sequences to be at least 2-D (T, B, *), got {padded.Rank}-D"), nameof(padded));
        }

        int steps = TensorData.Length(padded, batchFirst ? 1 : 0);
        int batch = TensorData.Length(padded, batchFirst ? 0 : 1);
        if (lengths.Length != batch)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"Expected `len(lengths)` to be equal to batch_size, but got {lengths.Length} (batch_size={batch})"), nameof(lengths));
        }

        ReadOnlySpan<nint> trailing = padded.Lengths[2..];
        int features = Features(trailing);
        ReadOnlySpan<float> source = TensorData.Read(padded);
        var result = new Tensor<float>[batch];
        for (int b = 0; b < batch; b++)
        {
            int length = lengths[b];
            if ((uint)length > (uint)steps)
            {
                ThrowHelper.Argument(
                    string.Create(CultureInfo.InvariantCulture, $"Expected every length to be in [0, {steps}] (the padded length), but got lengths[{b}]={length}"), nameof(lengths));
            }

            float[] data = GC.AllocateUninitializedArray<float>(length * features);
            for (int t = 0; t < length; t++)
            {
                int at = PaddedRow(batchFirst, steps, batch, t, b);
                source.Slice(at * features, features).CopyTo(data.AsSpan(t * features, features));
            }

            result[b] = Tensor.Create(data, RowLengths(length, trailing));
        }

        return result;
    }

    /// <summary>The inverse of a permutation, <c>invert_permutation</c>: <c>result[permutation[i]] = i</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="permutation"/> is not a permutation of 0..n-1.</exception>
    public static int[] InvertPermutation(ReadOnlySpan<int> permutation)
    {
        PackedChecks.Permutation(permutation, permutation.Length, nameof(permutation));
        var inverse = new int[permutation.Length];
        for (int i = 0; i < permutation.Length; i++)
        {
            inverse[permutation[i]] = i;
        }

        return inverse;
    }

    /// <summary>Indices that sort <paramref name="lengths"/> longest first, ties in their original order.</summary>
    private static int[] SortDescending(ReadOnlySpan<int> lengths)
    {
        var order = new int[lengths.Length];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        int[] keys = lengths.ToArray();
        // Array.Sort is not stable; a key of (length, index) makes it so.
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        return order;
    }

    /// <summary>How many sequences are still running at each step, from lengths in sorted order.</summary>
    private static int[] BatchSizesOf(ReadOnlySpan<int> lengths, int[]? sorted)
    {
        int longest = lengths[sorted is null ? 0 : sorted[0]];
        var batchSizes = new int[longest];
        int b = lengths.Length;
        for (int t = 0; t < longest; t++)
        {
            while (b > 0 && lengths[sorted is null ? b - 1 : sorted[b - 1]] <= t)
            {
                b--;
            }

            batchSizes[t] = b;
        }

        return batchSizes;
    }

    private static Tensor<float> CheckSequence(IReadOnlyList<Tensor<float>> sequences, int index)
    {
        Tensor<float> s = sequences[index];
        if (s is null)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"sequences[{index}] is null"), nameof(sequences));
        }

        if (s.Rank < 1)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"sequences[{index}] must be at least 1-D (L, *), got {s.Rank}-D"), nameof(sequences));
        }

        return s;
    }

    /// <summary>The row of (step t, sequence b) in a padded <c>(T, B, *)</c> or batch-first <c>(B, T, *)</c> tensor.</summary>
    private static int PaddedRow(bool batchFirst, int steps, int batch, int t, int b) => batchFirst ? (b * steps) + t : (t * batch) + b;

    /// <summary>The lengths of a padded tensor: <c>(T, B, *)</c> or <c>(B, T, *)</c>.</summary>
    private static nint[] PaddedLengths(bool batchFirst, int steps, int batch, ReadOnlySpan<nint> trailing)
    {
        nint[] shape = new nint[2 + trailing.Length];
        (shape[0], shape[1]) = batchFirst ? (batch, steps) : (steps, batch);
        trailing.CopyTo(shape.AsSpan(2));
        return shape;
    }

    /// <summary>The elements of a padded tensor; more than an array holds is refused with the sizes that make it so.</summary>
    private static int PaddedElements(int steps, int batch, int features, string paramName)
    {
        long elements = (long)steps * batch * features;
        if (elements > Array.MaxLength)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"padding {batch} sequences to {steps} steps of {features} features would need {elements} elements, more than a .NET array holds"),
                paramName);
        }

        return (int)elements;
    }

    /// <summary>The elements of one step (the product of the trailing dimensions); more than an array holds is refused.</summary>
    private static int Features(ReadOnlySpan<nint> trailing)
    {
        long features = 1;
        foreach (nint n in trailing)
        {
            features *= n;
            if (features > Array.MaxLength)
            {
                ThrowHelper.Argument(
                    $"a step of trailing shape {ShapeText.List(trailing)} has more elements than a .NET array holds ({Array.MaxLength})", "sequences");
            }
        }

        return (int)features;
    }

    private static nint[] RowLengths(int rows, ReadOnlySpan<nint> trailing)
    {
        nint[] shape = new nint[1 + trailing.Length];
        shape[0] = rows;
        trailing.CopyTo(shape.AsSpan(1));
        return shape;
    }
}
