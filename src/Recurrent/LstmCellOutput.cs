using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>The result of <see cref="LstmCell.Forward(System.Numerics.Tensors.Tensor{float}, System.Numerics.Tensors.Tensor{float}?, System.Numerics.Tensors.Tensor{float}?)"/>: <c>(h', c')</c>; deconstructs as <c>var (h, c) = cell.Forward(x, h, c);</c>.</summary>
/// <param name="H">The next hidden state, <c>(N, hidden_size)</c> or <c>(hidden_size)</c>.</param>
/// <param name="C">The next cell state, same shape.</param>
public readonly record struct LstmCellOutput(Tensor<float> H, Tensor<float> C);
