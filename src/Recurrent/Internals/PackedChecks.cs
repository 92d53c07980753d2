using System;
using System.Globalization;

namespace Recurrent.Internals;

/// <summary>The checks that make packed batch sizes, lengths and permutations safe for the kernels' index arithmetic.</summary>
internal static class PackedChecks
{
    /// <summary>Batch sizes must be positive, non-increasing and sum to the packed rows.</summary>
    public static void BatchSizes(ReadOnlySpan<int> batchSizes, long rows)
    {
        long total = Rows(batchSizes);
        if (total != rows)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"batch_sizes sum to {total} rows, but the packed data has {rows}"), nameof(batchSizes));
        }
    }

    /// <summary>Checks that batch sizes are positive and non-increasing; returns their sum, the packed rows.</summary>
    public static int Rows(ReadOnlySpan<int> batchSizes)
    {
        if (batchSizes.IsEmpty)
        {
            ThrowHelper.Argument("batch_sizes must not be empty: a packed batch holds at least one step", nameof(batchSizes));
        }

        long total = 0;
        for (int t = 0; t < batchSizes.Length; t++)
        {
            if (batchSizes[t] <= 0 || (t > 0 && batchSizes[t] > batchSizes[t - 1]))
            {
                ThrowHelper.Argument(
                    string.Create(CultureInfo.InvariantCulture, $"batch_sizes must be positive and non-increasing, but batch_sizes[{t}] is {batchSizes[t]}{(t > 0 ? string.Create(CultureInfo.InvariantCulture, $" after {batchSizes[t - 1]}") : "")}"),
                    nameof(batchSizes));
            }

            total += batchSizes[t];
        }

        if (total > int.MaxValue)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"batch_sizes sum to {total} rows, more than {int.MaxValue}"), nameof(batchSizes));
        }

        return (int)total;
    }

    /// <summary>Lengths for packing a padded batch: one per sequence, each in [1, padded length].</summary>
    public static void Lengths(ReadOnlySpan<int> lengths, int batch, int maxLength, bool enforceSorted)
    {
        if (lengths.Length != batch)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"Expected `len(lengths)` to be equal to batch_size, but got {lengths.Length} (batch_size={batch})"), nameof(lengths));
        }

        for (int b = 0; b < lengths.Length; b++)
        {
            if (lengths[b] <= 0)
            {
                ThrowHelper.Argument(
                    string.Create(CultureInfo.InvariantCulture, $"Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0 (lengths[{b}]={lengths[b]})"), nameof(lengths));
            }

            if (lengths[b] > maxLength)
            {
                ThrowHelper.Argument(
                    string.Create(CultureInfo.InvariantCulture, $"Expected every length to be at most the padded sequence length {maxLength}, but got lengths[{b}]={lengths[b]}"), nameof(lengths));
            }

            if (enforceSorted && b > 0 && lengths[b] > lengths[b - 1])
            {
                ThrowHelper.Argument(
                    "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement if you do not need ONNX exportability.",
                    nameof(lengths));
            }
        }
    }

    /// <summary>A permutation of 0..count-1.</summary>
    public static void Permutation(ReadOnlySpan<int> permutation, int count, string paramName)
    {
        if (permutation.Length != count)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"{paramName} must hold one index per sequence ({count}), got {permutation.Length}"), paramName);
        }

        Span<bool> seen = count <= 1024 ? stackalloc bool[count] : new bool[count];
        seen.Clear();
        foreach (int index in permutation)
        {
            if ((uint)index >= (uint)count || seen[index])
            {
                ThrowHelper.Argument(
                    string.Create(CultureInfo.InvariantCulture, $"{paramName} must be a permutation of 0..{count - 1}, but holds {index} {((uint)index >= (uint)count ? "(out of range)" : "twice")}"),
                    paramName);
            }

            seen[index] = true;
        }
    }
}
