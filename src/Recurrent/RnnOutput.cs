using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>The result of <see cref="Rnn.Forward(Tensor{float}, Tensor{float}?)"/> and <see cref="Gru.Forward(Tensor{float}, Tensor{float}?)"/>: <c>output, h_n</c>; deconstructs as <c>var (output, hN) = …</c>.</summary>
/// <param name="Output"><c>(L, N, D*H_out)</c>, <c>(N, L, D*H_out)</c> when batch-first, or <c>(L, D*H_out)</c> unbatched: the last layer's h at every step.</param>
/// <param name="HN"><c>(D*num_layers, N, H_out)</c> or <c>(D*num_layers, H_out)</c> unbatched: every layer's final h, index <c>layer*D + direction</c>.</param>
public readonly record struct RnnOutput(Tensor<float> Output, Tensor<float> HN);
