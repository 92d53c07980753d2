using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>The result of <see cref="RnnUtils.PadPackedSequence"/>: deconstructs as <c>var (padded, lengths) = …</c>.</summary>
/// <param name="Padded"><c>(T, B, *)</c>, or <c>(B, T, *)</c> when batch-first, in the caller's batch order.</param>
/// <param name="Lengths">Each sequence's length, in the caller's batch order.</param>
public readonly record struct PaddedSequence(Tensor<float> Padded, int[] Lengths);
