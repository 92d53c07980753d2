using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>What a cell's <c>Backward</c> returns; deconstructs as <c>var (gradInput, gradH, gradC) = …</c>.</summary>
/// <param name="GradInput">dL/d(input), the input's shape.</param>
/// <param name="GradH">dL/dh (the state fed in; zeros' gradient when none was given).</param>
/// <param name="GradC">dL/dc for <see cref="LstmCell"/>, otherwise <see langword="null"/>.</param>
public readonly record struct CellGradients(Tensor<float> GradInput, Tensor<float> GradH, Tensor<float>? GradC);
