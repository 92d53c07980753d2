using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>A loss value and its gradient with respect to the prediction, ready for the last module's <c>Backward</c>.</summary>
/// <param name="Value">The loss (mean over the counted elements, PyTorch's default reduction).</param>
/// <param name="Gradient">dLoss/d(prediction), the prediction's shape.</param>
public readonly record struct LossResult(float Value, Tensor<float> Gradient);
