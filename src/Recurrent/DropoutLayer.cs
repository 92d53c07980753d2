using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// <c>torch.nn.Dropout</c>: in training mode zeroes each element with probability p and scales the rest by 1/(1-p);
/// in evaluation mode passes the input through. <see cref="Backward"/> applies the same mask to the gradient.
/// (Named <c>DropoutLayer</c> because the recurrent layers already have a <c>Dropout</c> property.)
/// </summary>
public sealed class DropoutLayer : Module
{
    private readonly Random _random;
    private float[]? _mask;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    /// <param name="seed">Seed for the masks; null for a random one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public DropoutLayer(float p = 0.5f, int? seed = null)
    {
        if (!(p >= 0f && p <= 1f))
        {
            ThrowHelper.OutOfRange(nameof(p), p, string.Create(CultureInfo.InvariantCulture, $"dropout probability has to be between 0 and 1, but got {p}"));
        }

        P = p;
        _random = Init.CreateRandom(seed);
    }

    /// <summary>The probability of zeroing an element.</summary>
    public float P { get; }

    /// <inheritdoc/>
    protected override string TorchName => "Dropout";

    /// <summary>Applies a fresh mask in training mode; returns a copy of the input in evaluation mode.</summary>
    public Tensor<float> Forward(Tensor<float> input)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        float[] values = TensorData.Read(input).ToArray();
        if (!Training || P == 0f)
        {
            _mask = null;
            return Tensor.Create(values, input.Lengths);
        }

        float[] mask = new float[values.Length];
        mask.AsSpan().Fill(1f);
        lock (_random)
        {
            Kernels.Dropout.Apply(mask, P, _random);
        }

        TensorPrimitives.Multiply(values, mask, values);
        _mask = mask;
        return Tensor.Create(values, input.Lengths);
    }

    /// <summary>dL/d(input): the gradient times the last training forward's mask (the gradient itself after an evaluation forward).</summary>
    public Tensor<float> Backward(Tensor<float> gradOutput)
    {
        if (gradOutput is null)
        {
            ThrowHelper.Null(nameof(gradOutput));
        }

        float[] grad = TensorData.Read(gradOutput).ToArray();
        if (_mask is not null)
        {
            if (_mask.Length != grad.Length)
            {
                ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"gradOutput must hold {_mask.Length} floats (the forward's shape), got {grad.Length}"), nameof(gradOutput));
            }

            TensorPrimitives.Multiply(grad, _mask, grad);
        }

        return Tensor.Create(grad, gradOutput.Lengths);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => "p=" + PythonFloat(P) + ", inplace=False";
}
