using System;

namespace Recurrent.Engine;

/// <summary>
/// The memory of one forward call of a stack of layers: the input rows and their layout, the initial states and where the
/// results go (every length already checked by the module).
/// </summary>
internal readonly ref struct LayerCall
{
    /// <summary>Rows of I features, <c>(L, N, I)</c> or, when not <see cref="TimeMajor"/>, <c>(N, L, I)</c>; packed rows for a packed batch.</summary>
    public ReadOnlySpan<float> Input { get; init; }

    /// <summary>L ≥ 1 (a packed batch: its number of steps).</summary>
    public int SeqLen { get; init; }

    /// <summary>N ≥ 0 (a packed batch: its first step's rows).</summary>
    public int Batch { get; init; }

    /// <summary>The row layout of input and output.</summary>
    public bool TimeMajor { get; init; }

    /// <summary>Packed input: rows active at each step, non-increasing, summing to the input's rows; empty for a padded batch.</summary>
    public ReadOnlySpan<int> BatchSizes { get; init; }

    /// <summary>Packed input: the caller's batch index of each sorted row, by which h0/c0 are read and h_n/c_n written; empty for the identity.</summary>
    public ReadOnlySpan<int> SortedIndices { get; init; }

    /// <summary>Initial h <c>(L*D, N, H_out)</c> and c <c>(L*D, N, H)</c> (LSTM), or empty for zeros.</summary>
    public ReadOnlySpan<float> H0 { get; init; }

    public ReadOnlySpan<float> C0 { get; init; }

    /// <summary>The last layer's h at every step, in the input's layout, D*H_out wide; empty when a recording call takes it from the tape.</summary>
    public Span<float> Output { get; init; }

    /// <summary>Receive <c>(L*D, N, H_out)</c> and (LSTM) <c>(L*D, N, H)</c>.</summary>
    public Span<float> HN { get; init; }

    public Span<float> CN { get; init; }
}
