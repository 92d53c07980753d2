using System;

namespace Recurrent.Kernels;

/// <summary><c>at::dropout(x, p, train=true)</c>: keep each element with probability 1-p and scale kept ones by 1/(1-p).</summary>
internal static class Dropout
{
    public static void Apply(Span<float> values, float p, Random random)
    {
        // p = 1 multiplies by 0 (NaN stays NaN, as x * 0 does in PyTorch's mask product).
        float scale = p >= 1f ? 0f : 1f / (1f - p);
        for (int i = 0; i < values.Length; i++)
        {
            bool keep = p < 1f && random.NextSingle() >= p;
            values[i] *= keep ? scale : 0f;
        }
    }
}
