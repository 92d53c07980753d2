using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>A right-hand matrix B <c>(K, N)</c> packed for <see cref="PanelKernels"/>: panels of 64 columns, each <c>[k][64]</c>, zero-padded.</summary>
internal sealed class PackedMatrix
{
    public const int Width = 64;

    private PackedMatrix(int k, int n)
    {
        K = k;
        N = n;
        Panels = (n + Width - 1) / Width;
        Data = new float[Panels * k * Width];
    }

    public int K { get; }

    public int N { get; }

    public int Panels { get; }

    public float[] Data { get; }

    /// <summary>B given row-major <c>(K, N)</c>.</summary>
    public static PackedMatrix FromRows(ReadOnlySpan<float> b, int k, int n)
    {
        var m = new PackedMatrix(k, n);
        for (int p = 0; p < m.Panels; p++)
        {
            int valid = Math.Min(Width, n - (p * Width));
            for (int kk = 0; kk < k; kk++)
            {
                b.Slice((kk * n) + (p * Width), valid).CopyTo(m.Data.AsSpan((((p * k) + kk) * Width), valid));
            }
        }

        return m;
    }

    /// <summary>B = Wᵀ for W given row-major <c>(N, K)</c> (a weight matrix applied as x·Wᵀ).</summary>
    public static PackedMatrix FromTransposed(ReadOnlySpan<float> w, int n, int k)
    {
        var m = new PackedMatrix(k, n);
        for (int j = 0; j < n; j++)
        {
            int p = j / Width, col = j % Width;
            for (int kk = 0; kk < k; kk++)
            {
                m.Data[(((p * k) + kk) * Width) + col] = w[(j * k) + kk];
            }
        }

        return m;
    }
}

/// <summary>Dense products on the register-blocked panel kernels, for the training passes.</summary>
internal static class DenseGemm
{
    /// <summary><c>C (M, N) (+)= A (M, K) · B</c>, A row stride <paramref name="lda"/>, C row stride <paramref name="ldc"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, int m, int lda, PackedMatrix b, Span<float> c, int ldc, bool accumulate)
    {
        int k = b.K, w = PackedMatrix.Width;
        if (m == 0 || b.N == 0)
        {
            return;
        }

        Span<float> tile = stackalloc float[4 * w];
        ref float aRef = ref MemoryMarshal.GetReference(a);
        for (int p = 0; p < b.Panels; p++)
        {
            int valid = Math.Min(w, b.N - (p * w));
            ref float panel = ref MemoryMarshal.GetArrayDataReference(b.Data);
            panel = ref Unsafe.Add(ref panel, p * k * w);
            for (int r0 = 0; r0 < m; r0 += 4)
            {
                int mr = Math.Min(4, m - r0);
                if (k == 0)
                {
                    tile.Clear();
                }
                else
                {
                    PanelKernels.Multiply(ref Unsafe.Add(ref aRef, r0 * lda), lda, mr, ref panel, k, w, ref MemoryMarshal.GetReference(tile), w);
                }

                for (int r = 0; r < mr; r++)
                {
                    Span<float> dst = c.Slice(((r0 + r) * ldc) + (p * w), valid);
                    ReadOnlySpan<float> src = tile.Slice(r * w, valid);
                    if (accumulate)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
                    }
                    else
                    {
                        src.CopyTo(dst);
                    }
                }
            }
        }
    }

    /// <summary>Aᵀ for A row-major <c>(rows, cols)</c>.</summary>
    public static float[] Transpose(ReadOnlySpan<float> a, int rows, int cols)
    {
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = a[(r * cols) + c];
            }
        }

        return t;
    }
}
