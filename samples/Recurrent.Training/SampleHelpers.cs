using System;
using System.Numerics.Tensors;

namespace Recurrent.Training;

/// <summary>What every training sample does besides its model: switch modes, read values out, print shapes.</summary>
internal static class SampleHelpers
{
    /// <summary><c>module.train(mode)</c> for every module of a model.</summary>
    public static void SetTraining(Module[] model, bool mode)
    {
        foreach (Module module in model)
        {
            module.Train(mode);
        }
    }

    /// <summary>A tensor's elements in row-major order.</summary>
    public static float[] Values(Tensor<float> tensor)
    {
        float[] values = new float[tensor.FlattenedLength];
        tensor.FlattenTo(values);
        return values;
    }

    /// <summary>The share of rows of <paramref name="logits"/> (<paramref name="classes"/> wide) whose largest entry is the target's.</summary>
    public static float Accuracy(float[] logits, int[] targets, int classes)
    {
        int correct = 0;
        for (int row = 0; row < targets.Length; row++)
        {
            correct += TensorPrimitives.IndexOfMax(logits.AsSpan(row * classes, classes)) == targets[row] ? 1 : 0;
        }

        return correct / (float)targets.Length;
    }

    /// <summary>Lengths as <c>[32, 12, 2]</c>.</summary>
    public static string Shape(Tensor<float> tensor) => "[" + string.Join(", ", tensor.Lengths.ToArray()) + "]";
}
