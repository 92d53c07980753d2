using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>What a recurrent layer's <c>Backward</c> returns; deconstructs as <c>var (gradInput, gradH0, gradC0) = …</c>.</summary>
/// <param name="GradInput">dL/d(input), the input's shape and layout.</param>
/// <param name="GradH0">dL/dh0, <c>(D*num_layers, N, H_out)</c> (2-D unbatched): zeros' gradient when h0 was not given.</param>
/// <param name="GradC0">dL/dc0 for <see cref="Lstm"/>, otherwise <see langword="null"/>.</param>
public readonly record struct RnnGradients(Tensor<float> GradInput, Tensor<float> GradH0, Tensor<float>? GradC0);
