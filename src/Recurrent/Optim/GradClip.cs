using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent.Optim;

/// <summary><c>torch.nn.utils.clip_grad_norm_</c>.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales every gradient by <c>max_norm / (total_norm + 1e-6)</c> when that is below 1, where total_norm is the
    /// <paramref name="normType"/>-norm of all gradients together (∞ for the largest magnitude). Returns total_norm.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or <paramref name="normType"/> is not positive.</exception>
    public static float ClipGradNorm(IEnumerable<Parameter> parameters, float maxNorm, float normType = 2f)
    {
        if (parameters is null)
        {
            ThrowHelper.Null(nameof(parameters));
        }

        if (!(maxNorm >= 0f))
        {
            ThrowHelper.OutOfRange(nameof(maxNorm), maxNorm, "max_norm must be zero or greater");
        }

        if (!(normType > 0f))
        {
            ThrowHelper.OutOfRange(nameof(normType), normType, "norm_type must be positive (or infinity)");
        }

        var grads = new List<Parameter>();
        double total = 0;
        foreach (Parameter p in parameters)
        {
            if (p.Grad is null)
            {
                continue;
            }

            grads.Add(p);
            ReadOnlySpan<float> g = p.GradValues();
            if (float.IsPositiveInfinity(normType))
            {
                total = Math.Max(total, g.IsEmpty ? 0 : TensorPrimitives.MaxMagnitude(g) is float m ? Math.Abs(m) : 0);
            }
            else
            {
                // The norm of the per-parameter norms, as PyTorch computes it.
                double norm = normType == 2f ? TensorPrimitives.Norm(g) : Math.Pow(SumPow(g, normType), 1.0 / normType);
                total += Math.Pow(norm, normType);
            }
        }

        float totalNorm = float.IsPositiveInfinity(normType) ? (float)total : (float)Math.Pow(total, 1.0 / normType);
        float coef = maxNorm / (totalNorm + 1e-6f);
        if (coef < 1f)
        {
            foreach (Parameter p in grads)
            {
                Span<float> g = p.GradValues();
                TensorPrimitives.Multiply(g, coef, g);
            }
        }

        return totalNorm;
    }

    private static double SumPow(ReadOnlySpan<float> values, float p)
    {
        double sum = 0;
        foreach (float v in values)
        {
            sum += Math.Pow(Math.Abs(v), p);
        }

        return sum;
    }
}
