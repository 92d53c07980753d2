using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>The result of <see cref="Lstm.Forward(System.Numerics.Tensors.Tensor{float}, System.Numerics.Tensors.Tensor{float}?, System.Numerics.Tensors.Tensor{float}?)"/>: <c>output, (h_n, c_n)</c>; deconstructs as <c>var (output, hN, cN) = …</c>.</summary>
/// <param name="Output"><c>(L, N, D*H_out)</c>, <c>(N, L, D*H_out)</c> when batch-first, or <c>(L, D*H_out)</c> unbatched.</param>
/// <param name="HN"><c>(D*num_layers, N, H_out)</c> (<c>H_out</c> = proj_size if set): every layer's final h.</param>
/// <param name="CN"><c>(D*num_layers, N, H_cell)</c>: every layer's final cell state, hidden_size wide.</param>
public readonly record struct LstmOutput(Tensor<float> Output, Tensor<float> HN, Tensor<float> CN);
