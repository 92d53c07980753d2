using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>PyTorch's losses with <c>reduction='mean'</c>, each returning the value and the gradient of its input.</summary>
public static class Loss
{
    /// <summary>
    /// <c>F.cross_entropy(logits, targets, ignore_index)</c>: log-softmax over classes and the mean negative log-likelihood of
    /// the target class over the rows whose target is not <paramref name="ignoreIndex"/>.
    /// </summary>
    /// <param name="logits"><c>(N, C)</c> unnormalised scores.</param>
    /// <param name="targets">N class indices in [0, C), or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">A target value that contributes neither loss nor gradient (PyTorch's default: -100).</param>
    /// <exception cref="ArgumentException">The shapes do not fit, or a target is out of range.</exception>
    public static LossResult CrossEntropy(Tensor<float> logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        if (logits is null)
        {
            ThrowHelper.Null(nameof(logits));
        }

        if (logits.Rank != 2)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"cross_entropy expects logits (N, C), got {ShapeText.List(logits.Lengths)}"), nameof(logits));
        }

        int n = TensorData.Length(logits, 0), c = TensorData.Length(logits, 1);
        if (targets.Length != n)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"Expected input batch_size ({n}) to match target batch_size ({targets.Length})."), nameof(targets));
        }

        ReadOnlySpan<float> x = TensorData.Read(logits);
        float[] grad = new float[n * c];
        double total = 0;
        int counted = 0;
        for (int r = 0; r < n; r++)
        {
            int target = targets[r];
            if (target == ignoreIndex)
            {
                continue;
            }

            if ((uint)target >= (uint)c)
            {
                ThrowHelper.Argument(
                    c == 0
                        ? string.Create(CultureInfo.InvariantCulture, $"Target {target} is out of bounds: the logits have no classes.")
                        : string.Create(CultureInfo.InvariantCulture, $"Target {target} is out of bounds (classes 0..{c - 1})."),
                    nameof(targets));
            }

            ReadOnlySpan<float> row = x.Slice(r * c, c);
            float max = TensorPrimitives.Max(row);
            double sum = 0;
            foreach (float v in row)
            {
                sum += Math.Exp(v - max);
            }

            double logSum = max + Math.Log(sum);
            total += logSum - row[target];
            for (int k = 0; k < c; k++)
            {
                grad[(r * c) + k] = (float)Math.Exp(row[k] - logSum);
            }

            grad[(r * c) + target] -= 1f;
            counted++;
        }

        // PyTorch divides by the number of counted rows (NaN when every target is ignored).
        float scale = 1f / counted;
        TensorPrimitives.Multiply(grad, counted == 0 ? 0f : scale, grad);
        return new LossResult((float)(total / counted), Tensor.Create(grad, logits.Lengths));
    }

    /// <summary><c>F.mse_loss(input, target)</c>: the mean of the squared differences.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static LossResult MseLoss(Tensor<float> input, Tensor<float> target)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        if (target is null)
        {
            ThrowHelper.Null(nameof(target));
        }

        if (!input.Lengths.SequenceEqual(target.Lengths))
        {
            ThrowHelper.Argument($"mse_loss: input {ShapeText.List(input.Lengths)} and target {ShapeText.List(target.Lengths)} must have the same shape", nameof(target));
        }

        ReadOnlySpan<float> x = TensorData.Read(input), y = TensorData.Read(target);
        float[] grad = new float[x.Length];
        TensorPrimitives.Subtract(x, y, grad);
        double total = 0;
        foreach (float d in grad)
        {
            total += (double)d * d;
        }

        TensorPrimitives.Multiply(grad, 2f / x.Length, grad);
        return new LossResult((float)(total / x.Length), Tensor.Create(grad, input.Lengths));
    }
}
