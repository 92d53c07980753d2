using System;
using System.Collections.Generic;
using Recurrent.Internals;

namespace Recurrent.Optim;

/// <summary>
/// <c>torch.optim.Adam</c> (and, with <see cref="AdamW"/>, decoupled weight decay): <c>m = β1·m + (1-β1)·g</c>,
/// <c>v = β2·v + (1-β2)·g²</c>, <c>p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + ε)</c>; weight decay adds <c>wd·p</c> to g.
/// </summary>
public class Adam : Optimizer
{
    private readonly Dictionary<Parameter, State> _state = [];

    /// <summary>Creates the optimizer with PyTorch's arguments and defaults.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public Adam(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f, bool amsgrad = false)
        : base(parameters)
    {
        CheckNonNegative(lr, "learning rate");
        CheckNonNegative(eps, "epsilon");
        CheckNonNegative(weightDecay, "weight_decay");
        if (!(beta1 >= 0f && beta1 < 1f))
        {
            ThrowHelper.OutOfRange(nameof(beta1), beta1, $"Invalid beta parameter at index 0: {beta1}");
        }

        if (!(beta2 >= 0f && beta2 < 1f))
        {
            ThrowHelper.OutOfRange(nameof(beta2), beta2, $"Invalid beta parameter at index 1: {beta2}");
        }

        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        Amsgrad = amsgrad;
    }

    /// <summary>β1.</summary>
    public float Beta1 { get; }

    /// <summary>β2.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Eps { get; }

    /// <summary>Weight decay: L2 added to the gradient (Adam) or decoupled (AdamW).</summary>
    public float WeightDecay { get; }

    /// <summary>Whether to use the AMSGrad variant.</summary>
    public bool Amsgrad { get; }

    /// <summary>Whether weight decay is decoupled from the gradient (AdamW).</summary>
    private protected virtual bool Decoupled => false;

    private protected override void Update(Parameter parameter, Span<float> values, Span<float> grad)
    {
        if (!_state.TryGetValue(parameter, out State? s))
        {
            s = new State(new float[values.Length], new float[values.Length], Amsgrad ? new float[values.Length] : []);
            _state.Add(parameter, s);
        }

        s.Step++;
        float lr = LearningRate, wd = WeightDecay, b1 = Beta1, b2 = Beta2;
        if (Decoupled)
        {
            float keep = 1f - (lr * wd);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] *= keep;
            }
        }

        double bc1 = 1 - Math.Pow(b1, s.Step), bc2 = 1 - Math.Pow(b2, s.Step);
        float stepSize = (float)(lr / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        for (int i = 0; i < values.Length; i++)
        {
            float g = grad[i];
            if (!Decoupled && wd != 0f)
            {
                g += wd * values[i];
            }

            float m = s.M[i] += (g - s.M[i]) * (1f - b1);
            float v = s.V[i] = (s.V[i] * b2) + ((1f - b2) * g * g);
            if (Amsgrad)
            {
                v = s.MaxV[i] = MathF.Max(s.MaxV[i], v);
            }

            float denom = (MathF.Sqrt(v) / bc2Sqrt) + Eps;
            values[i] -= stepSize * (m / denom);
        }
    }

    private sealed record State(float[] M, float[] V, float[] MaxV)
    {
        public int Step { get; set; }
    }
}
