using System;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// A batch of variable-length sequences packed step by step, <c>torch.nn.utils.rnn.PackedSequence</c>: step t's rows
/// are the first <c>BatchSizes[t]</c> sequences (sorted longest first), so a recurrent layer runs each sequence only
/// as far as its own length. Build one with <see cref="RnnUtils.PackPaddedSequence"/> or <see cref="RnnUtils.PackSequence"/>;
/// the constructor checks everything, so an instance is always consistent.
/// </summary>
public sealed class PackedSequence
{
    private readonly int[] _batchSizes;
    private readonly int[]? _sortedIndices;
    private readonly int[]? _unsortedIndices;

    /// <summary>Wraps packed data. Prefer the <see cref="RnnUtils"/> functions, which compute the other arguments.</summary>
    /// <param name="data"><c>(sum(lengths), *)</c>: step 0's rows, then step 1's, and so on.</param>
    /// <param name="batchSizes">Rows at each step: positive, non-increasing, summing to <c>data</c>'s first dimension.</param>
    /// <param name="sortedIndices">The caller's batch index of each sorted row, or empty when the batch was already sorted (PyTorch's <c>None</c>).</param>
    /// <param name="unsortedIndices">The inverse of <paramref name="sortedIndices"/>; computed when empty.</param>
    /// <exception cref="ArgumentException">The arguments do not describe a packed batch.</exception>
    public PackedSequence(Tensor<float> data, ReadOnlySpan<int> batchSizes, ReadOnlySpan<int> sortedIndices = default, ReadOnlySpan<int> unsortedIndices = default)
    {
        if (data is null)
        {
            ThrowHelper.Null(nameof(data));
        }

        if (data.Rank < 1)
        {
            ThrowHelper.Argument("data must have at least 1 dimension (sum of lengths, *)", nameof(data));
        }

        PackedChecks.BatchSizes(batchSizes, TensorData.Length(data, 0));
        if (sortedIndices.IsEmpty && !unsortedIndices.IsEmpty)
        {
            ThrowHelper.Argument("unsortedIndices were given without sortedIndices", nameof(unsortedIndices));
        }

        Data = data;
        _batchSizes = batchSizes.ToArray();
        if (!sortedIndices.IsEmpty)
        {
            PackedChecks.Permutation(sortedIndices, batchSizes[0], nameof(sortedIndices));
            _sortedIndices = sortedIndices.ToArray();
            _unsortedIndices = RnnUtils.InvertPermutation(sortedIndices);
            if (!unsortedIndices.IsEmpty && !unsortedIndices.SequenceEqual(_unsortedIndices))
            {
                ThrowHelper.Argument("unsortedIndices must be the inverse permutation of sortedIndices", nameof(unsortedIndices));
            }
        }
    }

    /// <summary><c>(sum(lengths), *)</c>: the rows of every step, time-major.</summary>
    public Tensor<float> Data { get; }

    /// <summary>The number of sequences still running at each step; its length is the longest sequence's.</summary>
    public ReadOnlySpan<int> BatchSizes => _batchSizes;

    /// <summary>The caller's batch index of each sorted row; empty when the batch was packed already sorted (PyTorch's <c>None</c>).</summary>
    public ReadOnlySpan<int> SortedIndices => _sortedIndices;

    /// <summary>The sorted row of each of the caller's batch indices (inverse of <see cref="SortedIndices"/>); empty likewise.</summary>
    public ReadOnlySpan<int> UnsortedIndices => _unsortedIndices;

    /// <summary>The number of sequences: <c>BatchSizes[0]</c>.</summary>
    public int BatchSize => _batchSizes[0];

    /// <summary>The longest sequence's length: <c>BatchSizes.Length</c>.</summary>
    public int MaxLength => _batchSizes.Length;

    /// <summary>Each sequence's length in the caller's order.</summary>
    public int[] Lengths()
    {
        var lengths = new int[BatchSize];
        for (int t = 0; t < _batchSizes.Length; t++)
        {
            for (int b = 0; b < _batchSizes[t]; b++)
            {
                lengths[_sortedIndices is null ? b : _sortedIndices[b]]++;
            }
        }

        return lengths;
    }

    /// <summary>The same batch with other data (a layer's output), keeping the sizes and indices.</summary>
    internal PackedSequence WithData(Tensor<float> data) => new(data, _batchSizes, _sortedIndices, _unsortedIndices);

    private PackedSequence(Tensor<float> data, int[] batchSizes, int[]? sortedIndices, int[]? unsortedIndices)
    {
        Data = data;
        _batchSizes = batchSizes;
        _sortedIndices = sortedIndices;
        _unsortedIndices = unsortedIndices;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"PackedSequence(data={ShapeText.List(Data.Lengths)}, batch_sizes={ShapeText.List(_batchSizes)}, sorted_indices={(_sortedIndices is null ? "None" : ShapeText.List(_sortedIndices))})";
}
