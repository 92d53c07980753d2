using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent.Optim;

/// <summary>
/// <c>torch.optim.SGD</c>: <c>d = g + wd·p</c>; with momentum <c>buf = d</c> at the first step, then
/// <c>buf = μ·buf + (1-dampening)·d</c>, and <c>d = buf</c> (or <c>d + μ·buf</c> with Nesterov); <c>p -= lr·d</c>.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Dictionary<Parameter, float[]> _momentum = [];

    /// <summary>Creates the optimizer with PyTorch's arguments.</summary>
    /// <exception cref="ArgumentException">A value is out of range, or Nesterov without momentum and zero dampening.</exception>
    public Sgd(IEnumerable<Parameter> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters)
    {
        CheckNonNegative(lr, "learning rate");
        CheckNonNegative(momentum, "momentum");
        CheckNonNegative(weightDecay, "weight_decay");
        if (nesterov && (momentum <= 0f || dampening != 0f))
        {
            ThrowHelper.Argument("Nesterov momentum requires a momentum and zero dampening", nameof(nesterov));
        }

        LearningRate = lr;
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>Dampening of the momentum update.</summary>
    public float Dampening { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether to use Nesterov momentum.</summary>
    public bool Nesterov { get; }

    private protected override void Update(Parameter parameter, Span<float> values, Span<float> grad)
    {
        Span<float> d = grad;
        float[]? scratch = null;
        if (WeightDecay != 0f)
        {
            scratch = new float[grad.Length];
            TensorPrimitives.MultiplyAdd(values, WeightDecay, grad, scratch);
            d = scratch;
        }

        if (Momentum != 0f)
        {
            if (!_momentum.TryGetValue(parameter, out float[]? buf))
            {
                buf = d.ToArray();
                _momentum.Add(parameter, buf);
            }
            else
            {
                TensorPrimitives.Multiply(buf, Momentum, buf);
                TensorPrimitives.MultiplyAdd(d, 1f - Dampening, buf, buf);
            }

            if (Nesterov)
            {
                scratch ??= new float[grad.Length];
                TensorPrimitives.MultiplyAdd(buf, Momentum, d, scratch);
                d = scratch;
            }
            else
            {
                d = buf;
            }
        }

        TensorPrimitives.MultiplyAdd(d, -LearningRate, values, values);
    }
}
