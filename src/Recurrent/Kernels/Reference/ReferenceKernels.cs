using System;

namespace Recurrent.Kernels.Reference;

/// <summary>
/// Plain scalar kernels, equation for equation with PyTorch, written for clarity rather than speed: the oracle the
/// optimised kernels are tested against. Dot products accumulate in double so the oracle is more exact than any tier.
/// </summary>
internal static class ReferenceKernels
{
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary><c>C = A·Bᵀ + bias</c> with A <c>m×k</c>, B <c>n×k</c>.</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    s += (double)a[(i * k) + p] * b[(j * k) + p];
                }

                c[(i * n) + j] = (float)(s + (bias.IsEmpty ? 0 : bias[j]));
            }
        }
    }

    public static void Lstm(Span<float> hgates, ReadOnlySpan<float> igates, Span<float> c, Span<float> h, int batch, int hidden)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int j = 0; j < hidden; j++)
            {
                int row = b * 4 * hidden;
                float i = Sigmoid(hgates[row + j] + igates[row + j]);
                float f = Sigmoid(hgates[row + hidden + j] + igates[row + hidden + j]);
                float g = MathF.Tanh(hgates[row + (2 * hidden) + j] + igates[row + (2 * hidden) + j]);
                float o = Sigmoid(hgates[row + (3 * hidden) + j] + igates[row + (3 * hidden) + j]);
                int at = (b * hidden) + j;
                c[at] = (f * c[at]) + (i * g);
                h[at] = o * MathF.Tanh(c[at]);
            }
        }
    }

    public static void Gru(ReadOnlySpan<float> hgates, ReadOnlySpan<float> igates, Span<float> h, int batch, int hidden)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int j = 0; j < hidden; j++)
            {
                int row = b * 3 * hidden;
                float r = Sigmoid(hgates[row + j] + igates[row + j]);
                float z = Sigmoid(hgates[row + hidden + j] + igates[row + hidden + j]);
                float n = MathF.Tanh(igates[row + (2 * hidden) + j] + (r * hgates[row + (2 * hidden) + j]));
                int at = (b * hidden) + j;
                h[at] = ((h[at] - n) * z) + n;
            }
        }
    }

    public static void Rnn(ReadOnlySpan<float> hgates, ReadOnlySpan<float> igates, Span<float> h, int batch, int hidden, bool relu)
    {
        for (int i = 0; i < batch * hidden; i++)
        {
            float s = hgates[i] + igates[i];
            h[i] = relu ? (s > 0 || float.IsNaN(s) ? s : 0f) : MathF.Tanh(s);
        }
    }

    /// <summary>
    /// The values int8 weights stand for: each row of <c>W (rows × k)</c> scaled by max |w| / 127 and rounded to an
    /// integer in [-127, 127] (nearest even), times its scale.
    /// </summary>
    public static float[] Int8WeightValues(ReadOnlySpan<float> w, int rows, int k)
    {
        float[] values = new float[rows * k];
        for (int r = 0; r < rows; r++)
        {
            float largest = 0f;
            for (int p = 0; p < k; p++)
            {
                largest = Math.Max(largest, Math.Abs(w[(r * k) + p]));
            }

            float scale = largest / 127f;
            for (int p = 0; p < k; p++)
            {
                values[(r * k) + p] = scale == 0f ? 0f : Math.Clamp(MathF.Round(w[(r * k) + p] / scale), -127f, 127f) * scale;
            }
        }

        return values;
    }

    /// <summary>
    /// The values a row of activations stands for once quantized as the int8 products do it (PyTorch's dynamic
    /// <c>choose_qparams</c> over 7 bits, <c>reduce_range</c>): the range widened to hold 0, <c>scale = (max - min) / 127</c>
    /// (0.1 for a range of 0), zero point <c>round(-min / scale)</c>, <c>q = clamp(round(x · (1 / scale)) + zp, 0, 127)</c>;
    /// each value <c>(q - zp) · scale</c>.
    /// </summary>
    public static float[] Int8ActivationValues(ReadOnlySpan<float> x)
    {
        float min = 0f, max = 0f;
        foreach (float v in x)
        {
            (min, max) = (Math.Min(min, v), Math.Max(max, v));
        }

        float scale = (max - min) / 127f;
        if (scale == 0f || float.IsInfinity(1f / scale))
        {
            scale = 0.1f;
        }

        int zero = (int)Math.Clamp(MathF.Round(-min / scale), 0f, 127f);
        float[] values = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int q = Math.Clamp((int)MathF.Round(x[i] * (1f / scale)) + zero, 0, 127);
            values[i] = (q - zero) * scale;
        }

        return values;
    }
}
