using System;
using System.Numerics.Tensors;

namespace Recurrent.Tests.TestUtilities;

/// <summary>Small tensor builders for tests.</summary>
public static class T
{
    public static Tensor<float> Zeros(params int[] shape) => Tensor.Create(new float[Count(shape)], ToLengths(shape));

    /// <summary>Seeded uniform values in [-scale, scale).</summary>
    public static Tensor<float> Random(int seed, float scale, params int[] shape)
    {
        var random = new Random(seed);
        var values = new float[Count(shape)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(((random.NextDouble() * 2) - 1) * scale);
        }

        return Tensor.Create(values, ToLengths(shape));
    }

    public static float[] Values(Tensor<float> tensor)
    {
        var values = new float[tensor.FlattenedLength];
        tensor.FlattenTo(values);
        return values;
    }

    public static nint[] ToLengths(int[] shape) => Array.ConvertAll(shape, d => (nint)d);

    private static int Count(int[] shape)
    {
        int n = 1;
        foreach (int d in shape)
        {
            n *= d;
        }

        return n;
    }
}
