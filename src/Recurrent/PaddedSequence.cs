using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>The result of <see cref="RnnUtils.PadPackedSequence"/>: deconstructs as <c>var (padded, lengths) = …</c>.</summary>
/// <param name="Padded"><c>(T, B, *)</c>, or <c>(B, T, *)</c> when batch-first, in the caller's batch order.</param>
/// <param name="Lengths">Each sequence's length, in the caller's batch order.</param>
public readonly record struct PaddedSequence(Tensor<float> Padded, int[] Lengths);

/// <summary>Where <see cref="RnnUtils.PadSequence"/> puts the padding of a shorter sequence.</summary>
public enum PaddingSide
{
    /// <summary>Sequences start at step 0 and padding follows them (PyTorch's default).</summary>
    Right,

    /// <summary>Sequences end at the last step and padding precedes them.</summary>
    Left,
}
