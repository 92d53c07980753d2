using System;
using System.Runtime.Intrinsics;
using Recurrent.Kernels;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>Vector sigmoid and tanh on every width against double-precision math, lengths 0 to 2×16+3, saturated range included.</summary>
public sealed class ActivationsTests
{
    public static TheoryData<string> AllTiers => Tiers.All();

    [Theory]
    [MemberData(nameof(AllTiers))]
    public void SigmoidAndTanh_MatchDoublePrecision(string tier)
    {
        var random = new Random(11);
        for (int length = 0; length <= 35; length++)
        {
            float[] x = Tiers.Fill(random, length, 30f);
            if (length > 3)
            {
                x[0] = 100f;
                x[1] = -100f;
                x[2] = 0f;
                x[3] = 1e-30f;
            }

            float[] sigmoid = new float[length], tanh = new float[length], sigmoidRef = new float[length], tanhRef = new float[length];
            for (int i = 0; i < length; i++)
            {
                sigmoidRef[i] = (float)(1 / (1 + Math.Exp(-(double)x[i])));
                tanhRef[i] = (float)Math.Tanh(x[i]);
            }

            Apply(tier, x, sigmoid, tanh);
            TensorAssert.Close(sigmoidRef, sigmoid, 3e-7f, $"{tier} sigmoid, length {length}");
            TensorAssert.Close(tanhRef, tanh, 3e-7f, $"{tier} tanh, length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(AllTiers))]
    public void NonFinite_BehaveAsIeee(string tier)
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        float[] sigmoid = new float[x.Length], tanh = new float[x.Length];
        Apply(tier, x, sigmoid, tanh);
        Assert.True(float.IsNaN(sigmoid[0]) && float.IsNaN(tanh[0]) && float.IsNaN(sigmoid[3]));
        Assert.Equal(1f, sigmoid[1]);
        Assert.Equal(0f, sigmoid[2]);
        Assert.Equal(1f, tanh[1]);
        Assert.Equal(-1f, tanh[2]);
    }

    private static void Apply(string tier, float[] x, float[] sigmoid, float[] tanh)
    {
        int w = tier switch { "128" => 4, "256" => 8, "512" => 16, _ => 1 };
        int i = 0;
        for (; w > 1 && i + w <= x.Length; i += w)
        {
            switch (tier)
            {
                case "128":
                    Activations.Sigmoid<Simd128, Vector128<float>>(Vector128.Create(x, i)).CopyTo(sigmoid, i);
                    Activations.Tanh<Simd128, Vector128<float>>(Vector128.Create(x, i)).CopyTo(tanh, i);
                    break;
                case "256":
                    Activations.Sigmoid<Simd256, Vector256<float>>(Vector256.Create(x, i)).CopyTo(sigmoid, i);
                    Activations.Tanh<Simd256, Vector256<float>>(Vector256.Create(x, i)).CopyTo(tanh, i);
                    break;
                default:
                    Activations.Sigmoid<Simd512, Vector512<float>>(Vector512.Create(x, i)).CopyTo(sigmoid, i);
                    Activations.Tanh<Simd512, Vector512<float>>(Vector512.Create(x, i)).CopyTo(tanh, i);
                    break;
            }
        }

        for (; i < x.Length; i++)
        {
            sigmoid[i] = Activations.Sigmoid(x[i]);
            tanh[i] = Activations.Tanh(x[i]);
        }
    }
}
