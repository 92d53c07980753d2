using System;
using FluentAssertions;
using Recurrent.Kernels;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>The training passes' dense products and re-layouts against plain loops, on edge sizes (partial panels, 1-3 rows, tiny K).</summary>
public sealed class DenseGemmTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 7, 5)]
    [InlineData(4, 130, 64)]
    [InlineData(9, 200, 129)]
    [InlineData(70, 33, 190)]
    [InlineData(257, 300, 100)]
    public void Multiply_MatchesPlainLoops(int m, int k, int n)
    {
        var random = new Random((m * 1000) + k + n);
        float[] a = Tiers.Fill(random, m * (k + 2), 1f); // row stride k + 2: lda is honoured
        float[] b = Tiers.Fill(random, k * n, 1f);
        float[] c0 = Tiers.Fill(random, m * (n + 1), 1f);
        PackedMatrix packed = new(k, n);
        packed.Fill(b);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] c = (float[])c0.Clone();
            DenseGemm.Multiply(a, m, k + 2, packed, c, n + 1, accumulate);
            double[] want = new double[m * (n + 1)];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j <= n; j++)
                {
                    double sum = j == n || accumulate ? c0[(i * (n + 1)) + j] : 0;
                    for (int p = 0; j < n && p < k; p++)
                    {
                        sum += (double)a[(i * (k + 2)) + p] * b[(p * n) + j];
                    }

                    want[(i * (n + 1)) + j] = sum;
                }
            }

            TensorAssert.Close(Array.ConvertAll(want, v => (float)v), c, 2e-4f, $"{m}x{k}x{n} accumulate={accumulate} (the spare column untouched)");

            // A worker's share of the panels gives the same bits as the whole product.
            float[] shares = (float[])c0.Clone();
            DenseGemm.MultiplyPanels(a, m, k + 2, packed, shares, n + 1, 0, packed.Panels / 2);
            DenseGemm.MultiplyPanels(a, m, k + 2, packed, shares, n + 1, packed.Panels / 2, packed.Panels);
            float[] whole = (float[])c0.Clone();
            DenseGemm.Multiply(a, m, k + 2, packed, whole, n + 1, accumulate: true, parallel: false);
            shares.Should().Equal(whole);
        }
    }

    [Fact]
    public void Transpose_AndAddTransposed_MatchPlainLoops()
    {
        var random = new Random(3);
        foreach ((int rows, int cols) in new[] { (1, 1), (1, 9), (9, 1), (8, 8), (7, 17), (16, 24), (19, 33), (100, 8), (33, 70) })
        {
            float[] a = Tiers.Fill(random, rows * cols, 1f);
            float[] t = new float[rows * cols], scalar = new float[rows * cols];
            DenseGemm.Transpose(a, rows, cols, t);
            DenseGemm.TransposeScalar(a, rows, cols, scalar, 0, rows, 0, cols);
            float[] w = Tiers.Fill(random, rows * cols, 1f), added = (float[])w.Clone();
            DenseGemm.AddTransposed(a, rows, cols, added);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    t[(c * rows) + r].Should().Be(a[(r * cols) + c], $"{rows}x{cols} [{r},{c}]");
                    scalar[(c * rows) + r].Should().Be(a[(r * cols) + c], $"{rows}x{cols} scalar [{r},{c}]");
                    added[(c * rows) + r].Should().Be(w[(c * rows) + r] + a[(r * cols) + c], $"{rows}x{cols} added [{r},{c}]");
                }
            }
        }
    }
}
