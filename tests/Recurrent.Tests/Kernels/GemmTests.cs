using System;
using System.Runtime.Intrinsics;
using FluentAssertions;
using Recurrent.Kernels;
using Recurrent.Kernels.Reference;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>Every GEMM tier the machine can run against the double-accumulating scalar reference, k from 0 to 2×512-bit width + 3.</summary>
public sealed class GemmTests
{
    private const float Canary = 12345.678f;

    public delegate void GemmTier(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k);

    public static TheoryData<string> Tiers()
    {
        var data = new TheoryData<string> { "scalar", "dispatch" };
        if (Vector128.IsHardwareAccelerated)
        {
            data.Add("128");
        }

        if (Vector256.IsHardwareAccelerated)
        {
            data.Add("256");
        }

        if (Vector512.IsHardwareAccelerated)
        {
            data.Add("512");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void MultiplyTransposed_EveryLength_MatchesReference(string tier)
    {
        GemmTier gemm = Resolve(tier);
        var random = new Random(42);
        int maxK = (2 * Vector512<float>.Count) + 3;
        foreach ((int m, int n) in new[] { (1, 1), (1, 5), (2, 4), (3, 9), (0, 3), (4, 0) })
        {
            for (int k = 0; k <= maxK; k++)
            {
                foreach (bool withBias in new[] { false, true })
                {
                    float[] a = Fill(random, m * k);
                    float[] b = Fill(random, n * k);
                    float[] bias = withBias ? Fill(random, n) : [];
                    float[] expected = new float[m * n];
                    ReferenceKernels.MultiplyTransposed(a, b, bias, expected, m, n, k);

                    float[] c = new float[(m * n) + 4];
                    c.AsSpan().Fill(Canary);
                    gemm(a, b, bias, c.AsSpan(0, m * n), m, n, k);

                    TensorAssert.Close(expected, c.AsSpan(0, m * n), 1e-5f, $"{tier} m={m} n={n} k={k} bias={withBias}");
                    c.AsSpan(m * n).ToArray().Should().OnlyContain(x => x == Canary, "nothing may be written past C");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void MultiplyTransposed_NonFinite_PropagatesAsIeee(string tier)
    {
        GemmTier gemm = Resolve(tier);
        int k = 37;
        float[] a = new float[k];
        float[] b = new float[2 * k];
        a[5] = float.NaN;
        b[k + 3] = float.PositiveInfinity;
        a[3] = 1f;
        float[] c = new float[2];
        gemm(a, b, [], c, 1, 2, k);
        float.IsNaN(c[0]).Should().BeTrue();
        float.IsNaN(c[1]).Should().BeTrue("NaN times zero is NaN in IEEE arithmetic");
    }

    internal static GemmTier Resolve(string tier) => tier switch
    {
        "scalar" => Gemm.MultiplyTransposedScalar,
        "dispatch" => Gemm.MultiplyTransposed,
        "128" => Gemm.MultiplyTransposed<Simd128, Vector128<float>>,
        "256" => Gemm.MultiplyTransposed<Simd256, Vector256<float>>,
        "512" => Gemm.MultiplyTransposed<Simd512, Vector512<float>>,
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    private static float[] Fill(Random random, int count)
    {
        float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return values;
    }
}
