using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FluentAssertions;
using Recurrent.Kernels;
using Recurrent.Kernels.Formats;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The int8 kernels: activation quantization, weight packing, and the integer products on every tier this machine
/// runs, each against the scalar reference (bit for bit) and against double-precision arithmetic on the dequantized values.
/// </summary>
public sealed class Int8KernelTests
{
    public static TheoryData<string> AllTiers()
    {
        var data = new TheoryData<string> { "scalar" };
        if (Int8Simd128.IsSupported)
        {
            data.Add("128");
        }

        if (Vector256.IsHardwareAccelerated && Avx2.IsSupported)
        {
            data.Add("256");
        }

        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported)
        {
            data.Add("512");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllTiers))]
    public void Product_OnEveryTier_EqualsTheScalarReference_BitForBit(string tier)
    {
        var random = new Random(11);
        int checkedCases = 0;
        foreach (int width in new[] { 16, 64, 80, 192 })
        {
            foreach (int k in new[] { 1, 2, 7, 64, 301 })
            {
                for (int rows = 1; rows <= 4; rows++)
                {
                    foreach (bool accumulate in new[] { false, true })
                    {
                        (byte[] panel, float[] q, int ldq) = Operands(random, rows, k, width);
                        float[] start = Tiers.Fill(random, rows * (width + 3), 1f);
                        float[] want = (float[])start.Clone(), got = (float[])start.Clone();
                        Int8Kernels.MultiplyScalar(ref q[0], ldq, rows, ref panel[0], k, width, ref want[0], width + 3, accumulate);
                        Run(tier, q, ldq, rows, panel, k, width, got, width + 3, accumulate);
                        Bits(got).Should().Equal(Bits(want), $"{tier}: {rows} rows, k {k}, width {width}, accumulate {accumulate}");
                        checkedCases++;
                    }
                }
            }
        }

        checkedCases.Should().Be(160);
    }

    [Fact]
    public void ScalarReference_IsTheProductOfTheDequantizedValues()
    {
        var random = new Random(12);
        const int rows = 3, k = 45, width = 32;
        (byte[] panel, float[] q, int ldq) = Operands(random, rows, k, width);
        float[] tile = new float[rows * width];
        Int8Kernels.MultiplyScalar(ref q[0], ldq, rows, ref panel[0], k, width, ref tile[0], width, accumulate: false);
        float[] w = new float[k * width], scales = new float[width];
        Int8Weights.UnpackPanel(ref panel[0], k, width, w, scales);
        for (int r = 0; r < rows; r++)
        {
            float[] x = Dequantize(q, r * ldq, k);
            for (int c = 0; c < width; c++)
            {
                double sum = 0, magnitude = 0;
                for (int kk = 0; kk < k; kk++)
                {
                    sum += (double)x[kk] * w[(kk * width) + c];
                    magnitude += Math.Abs((double)x[kk] * w[(kk * width) + c]);
                }

                Math.Abs(tile[(r * width) + c] - sum).Should().BeLessThanOrEqualTo(1e-6 * magnitude, $"row {r}, column {c}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(100)]
    [InlineData(512)]
    public void QuantizedRow_IsWithinHalfAStep_KeepsZeroExact_AndItsVectorLoopMatchesTheScalarFormula(int k)
    {
        var random = new Random(13 + k);
        float[] x = Tiers.Fill(random, k, 3f);
        x[0] += 0.5f;
        x[k / 2] = 0f;
        float[] row = new float[Int8Kernels.RowSlots(k)];
        Int8Kernels.QuantizeRow(ref x[0], k, ref row[0]);
        float min = Math.Min(0f, MinOf(x)), max = Math.Max(0f, MaxOf(x));
        float scale = row[0];
        scale.Should().Be(max == min ? 0.1f : (max - min) / 127f, "PyTorch's choose_qparams over 7 bits (0.1 for a range of zero)");
        int zero = BitConverter.SingleToInt32Bits(row[1]);
        zero.Should().Be((int)Math.Clamp(MathF.Round(-min / scale), 0f, 127f));
        Span<byte> values = MemoryMarshal.AsBytes(row.AsSpan(2));
        for (int i = 0; i < k; i++)
        {
            ((int)values[i]).Should().Be(Int8Kernels.Value(x[i], 1f / scale, zero), $"element {i}");
            Math.Abs(x[i] - ((values[i] - zero) * scale)).Should().BeLessThanOrEqualTo(scale * 0.5001f, $"element {i}");
        }

        ((int)values[k / 2]).Should().Be(zero, "zero is exactly representable");
        for (int i = k; i % 4 != 0; i++)
        {
            values[i].Should().Be(0, "the pad of the last quad");
        }
    }

    [Fact]
    public void RowWithNaNOrInfinity_GivesNaNProducts_AndARowOfZerosGivesZeros()
    {
        const int k = 20, width = 16;
        (byte[] panel, _, _) = Operands(new Random(14), 1, k, width);
        foreach (float poison in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            float[] x = Tiers.Fill(new Random(15), k, 1f);
            x[9] = poison;
            float[] tile = Product(x, panel, k, width);
            tile.Should().OnlyContain(v => float.IsNaN(v), $"a row holding {poison}");
        }

        Product(new float[k], panel, k, width).Should().OnlyContain(v => v == 0f);
    }

    [Fact]
    public void PackedPanel_ScalesEachColumnByItsLargestWeight_AndRepacksExactlyFromItsScales()
    {
        var random = new Random(16);
        const int k = 37, width = 32;
        float[] w = Tiers.Fill(random, k * width, 0.3f);
        for (int kk = 0; kk < k; kk++)
        {
            w[(kk * width) + 5] = 0f;
        }

        byte[] panel = new byte[Int8Weights.PanelBytes(k, width)];
        Int8Weights.PackPanel(w, k, width, NaNs(width), ref panel[0]);
        float[] back = new float[k * width], scales = new float[width];
        Int8Weights.UnpackPanel(ref panel[0], k, width, back, scales);
        for (int c = 0; c < width; c++)
        {
            float largest = 0f;
            for (int kk = 0; kk < k; kk++)
            {
                largest = Math.Max(largest, Math.Abs(w[(kk * width) + c]));
            }

            scales[c].Should().Be(largest / 127f, $"column {c}");
            for (int kk = 0; kk < k; kk++)
            {
                Math.Abs(back[(kk * width) + c] - w[(kk * width) + c]).Should().BeLessThanOrEqualTo(scales[c] * 0.5001f);
            }
        }

        scales[5].Should().Be(0f, "a column of zeros");
        byte[] again = new byte[panel.Length];
        Int8Weights.PackPanel(back, k, width, scales, ref again[0]);
        again.Should().Equal(panel, "q · scale packed with its scale gives back q");
    }

    private static float[] Product(float[] x, byte[] panel, int k, int width)
    {
        float[] row = new float[Int8Kernels.RowSlots(k)], tile = new float[width];
        Int8Kernels.QuantizeRow(ref x[0], k, ref row[0]);
        Int8Kernels.Multiply(ref row[0], row.Length, 1, ref panel[0], k, width, ref tile[0], width, accumulate: false);
        return tile;
    }

    /// <summary>A random int8 panel and <paramref name="rows"/> quantized rows of A.</summary>
    private static (byte[] Panel, float[] Rows, int Ldq) Operands(Random random, int rows, int k, int width)
    {
        float[] w = Tiers.Fill(random, k * width, 0.5f);
        byte[] panel = new byte[Int8Weights.PanelBytes(k, width)];
        Int8Weights.PackPanel(w, k, width, NaNs(width), ref panel[0]);
        float[] a = Tiers.Fill(random, rows * k, 2f);
        for (int r = 0; r < rows; r++)
        {
            a[r * k] += r;
        }

        int ldq = Int8Kernels.RowSlots(k) + 1;
        float[] q = new float[rows * ldq];
        Int8Kernels.QuantizeRows(ref a[0], k, rows, k, ref q[0], ldq);
        return (panel, q, ldq);
    }

    private static float[] Dequantize(float[] q, int at, int k)
    {
        ReadOnlySpan<byte> values = MemoryMarshal.AsBytes(q.AsSpan(at + 2));
        int zero = BitConverter.SingleToInt32Bits(q[at + 1]);
        float[] x = new float[k];
        for (int i = 0; i < k; i++)
        {
            x[i] = (values[i] - zero) * q[at];
        }

        return x;
    }

    private static void Run(string tier, float[] q, int ldq, int rows, byte[] panel, int k, int width, float[] tile, int ldc, bool accumulate)
    {
        switch (tier)
        {
            case "512":
                Int8Kernels.Multiply<Int8Simd512, Vector512<int>>(ref q[0], ldq, rows, ref panel[0], k, width, ref tile[0], ldc, accumulate);
                break;
            case "256":
                Int8Kernels.Multiply<Int8Simd256, Vector256<int>>(ref q[0], ldq, rows, ref panel[0], k, width, ref tile[0], ldc, accumulate);
                break;
            case "128":
                Int8Kernels.Multiply<Int8Simd128, Vector128<int>>(ref q[0], ldq, rows, ref panel[0], k, width, ref tile[0], ldc, accumulate);
                break;
            default:
                Int8Kernels.MultiplyScalar(ref q[0], ldq, rows, ref panel[0], k, width, ref tile[0], ldc, accumulate);
                break;
        }
    }

    private static float[] NaNs(int count)
    {
        float[] values = new float[count];
        Array.Fill(values, float.NaN);
        return values;
    }

    private static float MinOf(float[] x)
    {
        float m = float.MaxValue;
        foreach (float v in x)
        {
            m = Math.Min(m, v);
        }

        return m;
    }

    private static float MaxOf(float[] x)
    {
        float m = float.MinValue;
        foreach (float v in x)
        {
            m = Math.Max(m, v);
        }

        return m;
    }

    private static int[] Bits(float[] values) => Array.ConvertAll(values, BitConverter.SingleToInt32Bits);
}
