using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

/// <summary>
/// <c>C[m×n] = A[m×k] · B[n×k]ᵀ (+ bias[n])</c>: PyTorch's <c>linear(x, W, b)</c> with W stored as PyTorch stores it
/// (one row per output feature). Every element is a dot product of two contiguous rows; four columns of C share
/// each load of A. The BLIS-style packed kernel of the performance issue replaces this; it stays as the baseline.
/// </summary>
internal static class Gemm
{
    /// <summary>Chooses the widest tier the machine accelerates and that fits <paramref name="k"/>.</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k)
    {
        Debug.Assert(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n && (bias.IsEmpty || bias.Length >= n));
        if (Vector512.IsHardwareAccelerated && k >= Vector512<float>.Count)
        {
            MultiplyTransposed<Simd512, Vector512<float>>(a, b, bias, c, m, n, k);
        }
        else if (Vector256.IsHardwareAccelerated && k >= Vector256<float>.Count)
        {
            MultiplyTransposed<Simd256, Vector256<float>>(a, b, bias, c, m, n, k);
        }
        else if (Vector128.IsHardwareAccelerated && k >= Vector128<float>.Count)
        {
            MultiplyTransposed<Simd128, Vector128<float>>(a, b, bias, c, m, n, k);
        }
        else
        {
            MultiplyTransposedScalar(a, b, bias, c, m, n, k);
        }
    }

    /// <summary>One vector tier; internal so tests call every width directly.</summary>
    internal static void MultiplyTransposed<TS, TV>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            FillBias(bias, c, m, n);
            return;
        }

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        int w = TS.Count;
        int kv = k - (k % w);
        for (int i = 0; i < m; i++)
        {
            nuint aRow = (nuint)(i * k);
            Span<float> cRow = c.Slice(i * n, n);
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                nuint b0 = (nuint)(j * k), b1 = b0 + (nuint)k, b2 = b1 + (nuint)k, b3 = b2 + (nuint)k;
                TV acc0 = TS.Zero, acc1 = TS.Zero, acc2 = TS.Zero, acc3 = TS.Zero;
                for (int p = 0; p < kv; p += w)
                {
                    TV va = TS.Load(ref ra, aRow + (nuint)p);
                    acc0 = TS.MultiplyAdd(va, TS.Load(ref rb, b0 + (nuint)p), acc0);
                    acc1 = TS.MultiplyAdd(va, TS.Load(ref rb, b1 + (nuint)p), acc1);
                    acc2 = TS.MultiplyAdd(va, TS.Load(ref rb, b2 + (nuint)p), acc2);
                    acc3 = TS.MultiplyAdd(va, TS.Load(ref rb, b3 + (nuint)p), acc3);
                }

                float s0 = TS.Sum(acc0), s1 = TS.Sum(acc1), s2 = TS.Sum(acc2), s3 = TS.Sum(acc3);
                for (int p = kv; p < k; p++)
                {
                    float x = Unsafe.Add(ref ra, aRow + (nuint)p);
                    s0 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref rb, b0 + (nuint)p), s0);
                    s1 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref rb, b1 + (nuint)p), s1);
                    s2 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref rb, b2 + (nuint)p), s2);
                    s3 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref rb, b3 + (nuint)p), s3);
                }

                if (!bias.IsEmpty)
                {
                    s0 += bias[j];
                    s1 += bias[j + 1];
                    s2 += bias[j + 2];
                    s3 += bias[j + 3];
                }

                cRow[j] = s0;
                cRow[j + 1] = s1;
                cRow[j + 2] = s2;
                cRow[j + 3] = s3;
            }

            for (; j < n; j++)
            {
                nuint b0 = (nuint)(j * k);
                TV acc = TS.Zero;
                for (int p = 0; p < kv; p += w)
                {
                    acc = TS.MultiplyAdd(TS.Load(ref ra, aRow + (nuint)p), TS.Load(ref rb, b0 + (nuint)p), acc);
                }

                float s = TS.Sum(acc);
                for (int p = kv; p < k; p++)
                {
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref ra, aRow + (nuint)p), Unsafe.Add(ref rb, b0 + (nuint)p), s);
                }

                cRow[j] = bias.IsEmpty ? s : s + bias[j];
            }
        }
    }

    /// <summary>The scalar tier, for machines without vector acceleration and for <c>k</c> below a vector.</summary>
    internal static void MultiplyTransposedScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k)
    {
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<float> aRow = a.Slice(i * k, k);
            for (int j = 0; j < n; j++)
            {
                ReadOnlySpan<float> bRow = b.Slice(j * k, k);
                float s = 0f;
                for (int p = 0; p < k; p++)
                {
                    s = MathF.FusedMultiplyAdd(aRow[p], bRow[p], s);
                }

                c[(i * n) + j] = bias.IsEmpty ? s : s + bias[j];
            }
        }
    }

    private static void FillBias(ReadOnlySpan<float> bias, Span<float> c, int m, int n)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * n, n);
            if (bias.IsEmpty)
            {
                row.Clear();
            }
            else
            {
                bias[..n].CopyTo(row);
            }
        }
    }
}
