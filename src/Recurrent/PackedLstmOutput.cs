using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>The result of <see cref="Lstm.Forward(PackedSequence, Tensor{float}?, Tensor{float}?)"/>; deconstructs as <c>var (output, hN, cN) = …</c>.</summary>
/// <param name="Output">Packed like the input, <c>(sum(lengths), D*H_out)</c>, same batch sizes and indices.</param>
/// <param name="HN"><c>(D*num_layers, N, H_out)</c> in the caller's batch order: each sequence's h at its own last step (step 0 for the reverse direction).</param>
/// <param name="CN"><c>(D*num_layers, N, hidden_size)</c>, likewise.</param>
public readonly record struct PackedLstmOutput(PackedSequence Output, Tensor<float> HN, Tensor<float> CN);
