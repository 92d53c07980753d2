using System;
using System.Globalization;
using System.Numerics.Tensors;
using System.Threading;
using Xunit.Sdk;

namespace Recurrent.Tests.TestUtilities;

/// <summary>Compares tensors element by element and, on failure, names the worst element (llm.c's check_tensor).</summary>
public static class TensorAssert
{
    /// <summary>The issue's bar: max abs error against PyTorch.</summary>
    public const float PyTorchTolerance = 1e-5f;

    private static double s_worstAgainstPyTorch;

    /// <summary>The largest error any golden comparison has seen in this run.</summary>
    public static double WorstAgainstPyTorch => Volatile.Read(ref s_worstAgainstPyTorch);

    public static double Close(Tensor<float> expected, Tensor<float> actual, float tolerance, string what)
    {
        if (!expected.Lengths.SequenceEqual(actual.Lengths))
        {
            throw new XunitException($"{what}: shape [{string.Join(", ", actual.Lengths.ToArray())}], expected [{string.Join(", ", expected.Lengths.ToArray())}]");
        }

        var e = new float[expected.FlattenedLength];
        var a = new float[actual.FlattenedLength];
        expected.FlattenTo(e);
        actual.FlattenTo(a);
        return Close(e, a, tolerance, what);
    }

    public static double Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        if (expected.Length != actual.Length)
        {
            throw new XunitException($"{what}: {actual.Length} elements, expected {expected.Length}");
        }

        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(expected[i]) != float.IsNaN(actual[i]))
            {
                throw new XunitException($"{what}: element {i} is {actual[i]}, expected {expected[i]}");
            }

            double diff = Math.Abs((double)expected[i] - actual[i]);
            if (diff > worst)
            {
                worst = diff;
                worstAt = i;
            }
        }

        if (worst > tolerance)
        {
            throw new XunitException(string.Create(
                CultureInfo.InvariantCulture,
                $"{what}: max abs error {worst:G3} > {tolerance:G3} at element {worstAt}: expected {expected[worstAt]:G9}, actual {actual[worstAt]:G9}"));
        }

        return worst;
    }

    /// <summary>Compares against a PyTorch value at the issue's tolerance and records the error for the run's summary.</summary>
    public static void MatchesPyTorch(Tensor<float> expected, Tensor<float> actual, string what)
    {
        double worst = Close(expected, actual, PyTorchTolerance, what);
        double seen;
        do
        {
            seen = Volatile.Read(ref s_worstAgainstPyTorch);
        }
        while (worst > seen && Interlocked.CompareExchange(ref s_worstAgainstPyTorch, worst, seen) != seen);
    }
}
