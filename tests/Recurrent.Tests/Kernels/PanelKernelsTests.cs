using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FluentAssertions;
using Recurrent.Kernels;
using Recurrent.Kernels.Cells;
using Recurrent.Kernels.Reference;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>The packed panel product on every tier against the double-accumulating reference GEMM.</summary>
public sealed class PanelKernelsTests
{
    private const float Canary = 12345.678f;

    public static TheoryData<string> AllTiers => Tiers.All();

    [Theory]
    [MemberData(nameof(AllTiers))]
    public void Multiply_EveryRowCountAndK_MatchesReference(string tier)
    {
        var random = new Random(7);
        foreach (int gates in new[] { 1, 3, 4 })
        {
            int unit = gates == 4 ? LstmGates.Unit : GruGates.Unit;
            int units = unit + 5; // two panels, the second mostly padding
            int width = gates * unit;
            for (int k = 0; k <= 35; k++)
            {
                float[] w = Tiers.Fill(random, gates * units * k, 1f);
                float[] packed = PackedMatrix.GateInterleaved(w, gates, units, k, unit).Data;
                for (int rows = 1; rows <= 4; rows++)
                {
                    int lda = k + 3; // a row stride wider than k, as when reading h from an output row
                    float[] a = Tiers.Fill(random, rows * lda, 1f);
                    float[] aDense = new float[rows * k];
                    for (int r = 0; r < rows; r++)
                    {
                        Array.Copy(a, r * lda, aDense, r * k, k);
                    }

                    float[] expected = new float[rows * gates * units];
                    ReferenceKernels.MultiplyTransposed(aDense, w, [], expected, rows, gates * units, k);

                    for (int p = 0; p < 2; p++)
                    {
                        int ldc = width + 5;
                        float[] tile = new float[(rows * ldc) + 8];
                        tile.AsSpan().Fill(Canary);
                        Run(tier, a, lda, rows, packed.AsSpan(p * k * width), k, width, tile, ldc);

                        for (int r = 0; r < rows; r++)
                        {
                            for (int g = 0; g < gates; g++)
                            {
                                for (int u = 0; u < unit; u++)
                                {
                                    int j = (p * unit) + u;
                                    float actual = tile[(r * ldc) + (g * unit) + u];
                                    float want = j < units ? expected[(r * gates * units) + (g * units) + j] : 0f;
                                    if (Math.Abs(actual - want) > 2e-5f)
                                    {
                                        actual.Should().BeApproximately(want, 2e-5f, $"{tier} gates={gates} k={k} rows={rows} r={r} g={g} unit={j}");
                                    }
                                }
                            }

                            tile.AsSpan((r * ldc) + width, 5).ToArray().Should().OnlyContain(x => x == Canary, "nothing is written between tile rows");
                        }

                        tile.AsSpan(rows * ldc).ToArray().Should().OnlyContain(x => x == Canary, "nothing is written past the tile");
                    }
                }
            }
        }
    }

    [Fact]
    public void Multiply_EveryTierAndShape_GivesTheSameBits()
    {
        // Each element is one sequential FMA chain over k, whichever kernel shape or width computed it: this is what
        // makes a batch row equal to that row alone, and results equal at every thread count.
        var random = new Random(3);
        const int k = 37, rows = 4, width = 64;
        float[] a = Tiers.Fill(random, rows * k, 1f);
        float[] panel = Tiers.Fill(random, k * width, 1f);
        float[] scalar = new float[rows * width];
        Run("scalar", a, k, rows, panel, k, width, scalar, width);
        foreach (string tier in new[] { "128", "256", "512" })
        {
            if (!Tiers.Accelerated(tier))
            {
                continue;
            }

            float[] four = new float[rows * width];
            Run(tier, a, k, rows, panel, k, width, four, width);
            four.Should().Equal(scalar, $"{tier}, 4-row kernel");

            // K-blocked: the chain continues from the stored partial sums.
            float[] blocked = new float[rows * width];
            Run(tier, a, k, rows, panel, 16, width, blocked, width);
            Run(tier, a.AsSpan(16).ToArray(), k, rows, panel.AsSpan(16 * width), k - 16, width, blocked, width, accumulate: true);
            blocked.Should().Equal(scalar, $"{tier}, K split at 16");
            for (int r = 0; r < rows; r++)
            {
                float[] one = new float[width];
                Run(tier, a.AsSpan(r * k).ToArray(), k, 1, panel, k, width, one, width);
                one.Should().Equal(scalar.AsSpan(r * width, width).ToArray(), $"{tier}, 1-row kernel, row {r}");
            }
        }
    }

    internal static void Run(string tier, float[] a, int lda, int rows, Span<float> panel, int k, int width, float[] tile, int ldc, bool accumulate = false)
    {
        ref float ra = ref MemoryMarshal.GetArrayDataReference(a);
        ref float rp = ref MemoryMarshal.GetReference(panel);
        ref float rt = ref MemoryMarshal.GetArrayDataReference(tile);
        switch (tier)
        {
            case "scalar":
                PanelKernels.MultiplyScalar(ref ra, lda, rows, ref rp, k, width, ref rt, ldc, accumulate);
                break;
            case "128":
                PanelKernels.Multiply<Simd128, Vector128<float>>(ref ra, lda, rows, ref rp, k, width, ref rt, ldc, accumulate);
                break;
            case "256":
                PanelKernels.Multiply<Simd256, Vector256<float>>(ref ra, lda, rows, ref rp, k, width, ref rt, ldc, accumulate);
                break;
            default:
                PanelKernels.Multiply<Simd512, Vector512<float>>(ref ra, lda, rows, ref rp, k, width, ref rt, ldc, accumulate);
                break;
        }
    }
}
