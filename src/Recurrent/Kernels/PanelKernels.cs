using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

/// <summary>
/// <c>tile[r][c] = Σ_k A[r][k] · panel[k][c]</c> for up to 4 rows of A (row stride <c>lda</c>) and one packed panel
/// (<c>width</c> floats per k), into a tile of row stride <c>ldc</c>. Register-blocked: 4 rows × 2 vectors (8 independent FMA chains, enough to cover FMA
/// latency on two ports), with 4×1, 1×4 and 1×1 shapes for the edges. Every shape accumulates each element as one
/// sequential FMA chain over k starting from zero, so results are bit-identical whichever shape (or thread) ran them.
/// </summary>
internal static class PanelKernels
{
    /// <summary>Dispatches to the widest accelerated tier (the tile width is a multiple of 16 floats, so every width fits).</summary>
    public static void Multiply(ref float a, nint lda, int rows, ref float panel, int k, int width, ref float tile, nint ldc)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Multiply<Simd512, Vector512<float>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Multiply<Simd256, Vector256<float>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Multiply<Simd128, Vector128<float>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc);
        }
        else
        {
            MultiplyScalar(ref a, lda, rows, ref panel, k, width, ref tile, ldc);
        }
    }

    internal static void Multiply<TS, TV>(ref float a, nint lda, int rows, ref float panel, int k, int width, ref float tile, nint ldc)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        int w = TS.Count;
        if (rows == 4)
        {
            int c = 0;
            if (TS.Count == 16)
            {
                // 32 registers: 4×4 vectors (16 accumulators) halve the panel loads per FMA.
                for (; c + (4 * w) <= width; c += 4 * w)
                {
                    Rows4x4<TS, TV>(ref a, lda, ref Unsafe.Add(ref panel, c), k, width, ref Unsafe.Add(ref tile, c), ldc);
                }
            }

            for (; c + (2 * w) <= width; c += 2 * w)
            {
                Rows4x2<TS, TV>(ref a, lda, ref Unsafe.Add(ref panel, c), k, width, ref Unsafe.Add(ref tile, c), ldc);
            }

            for (; c < width; c += w)
            {
                Rows4x1<TS, TV>(ref a, lda, ref Unsafe.Add(ref panel, c), k, width, ref Unsafe.Add(ref tile, c), ldc);
            }

            return;
        }

        for (int r = 0; r < rows; r++)
        {
            ref float aRow = ref Unsafe.Add(ref a, r * lda);
            ref float tRow = ref Unsafe.Add(ref tile, r * ldc);
            int c = 0;
            for (; c + (4 * w) <= width; c += 4 * w)
            {
                Row1x4<TS, TV>(ref aRow, ref Unsafe.Add(ref panel, c), k, width, ref Unsafe.Add(ref tRow, c));
            }

            for (; c < width; c += w)
            {
                Row1x1<TS, TV>(ref aRow, ref Unsafe.Add(ref panel, c), k, width, ref Unsafe.Add(ref tRow, c));
            }
        }
    }

    /// <summary>The scalar tier; the same sequential FMA chain per element.</summary>
    internal static void MultiplyScalar(ref float a, nint lda, int rows, ref float panel, int k, int width, ref float tile, nint ldc)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < width; c++)
            {
                float s = 0f;
                for (int p = 0; p < k; p++)
                {
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, (r * lda) + p), Unsafe.Add(ref panel, (p * width) + c), s);
                }

                Unsafe.Add(ref tile, (r * ldc) + c) = s;
            }
        }
    }

    private static void Rows4x4<TS, TV>(ref float a, nint lda, ref float b, int k, int width, ref float tile, nint ldc)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero, c33 = TS.Zero;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a, 3 * lda);
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref b, offset);
            TV b1 = TS.Load(ref b, offset + w);
            TV b2 = TS.Load(ref b, offset + (2 * w));
            TV b3 = TS.Load(ref b, offset + (3 * w));
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c00 = TS.MultiplyAdd(x, b0, c00);
            c01 = TS.MultiplyAdd(x, b1, c01);
            c02 = TS.MultiplyAdd(x, b2, c02);
            c03 = TS.MultiplyAdd(x, b3, c03);
            x = TS.Create(Unsafe.Add(ref a1, p));
            c10 = TS.MultiplyAdd(x, b0, c10);
            c11 = TS.MultiplyAdd(x, b1, c11);
            c12 = TS.MultiplyAdd(x, b2, c12);
            c13 = TS.MultiplyAdd(x, b3, c13);
            x = TS.Create(Unsafe.Add(ref a2, p));
            c20 = TS.MultiplyAdd(x, b0, c20);
            c21 = TS.MultiplyAdd(x, b1, c21);
            c22 = TS.MultiplyAdd(x, b2, c22);
            c23 = TS.MultiplyAdd(x, b3, c23);
            x = TS.Create(Unsafe.Add(ref a3, p));
            c30 = TS.MultiplyAdd(x, b0, c30);
            c31 = TS.MultiplyAdd(x, b1, c31);
            c32 = TS.MultiplyAdd(x, b2, c32);
            c33 = TS.MultiplyAdd(x, b3, c33);
            offset += (nuint)width;
        }

        nuint wd = (nuint)ldc;
        TS.Store(c00, ref tile, 0);
        TS.Store(c01, ref tile, w);
        TS.Store(c02, ref tile, 2 * w);
        TS.Store(c03, ref tile, 3 * w);
        TS.Store(c10, ref tile, wd);
        TS.Store(c11, ref tile, wd + w);
        TS.Store(c12, ref tile, wd + (2 * w));
        TS.Store(c13, ref tile, wd + (3 * w));
        TS.Store(c20, ref tile, 2 * wd);
        TS.Store(c21, ref tile, (2 * wd) + w);
        TS.Store(c22, ref tile, (2 * wd) + (2 * w));
        TS.Store(c23, ref tile, (2 * wd) + (3 * w));
        TS.Store(c30, ref tile, 3 * wd);
        TS.Store(c31, ref tile, (3 * wd) + w);
        TS.Store(c32, ref tile, (3 * wd) + (2 * w));
        TS.Store(c33, ref tile, (3 * wd) + (3 * w));
    }

    private static void Rows4x2<TS, TV>(ref float a, nint lda, ref float b, int k, int width, ref float tile, nint ldc)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero;
        ref float a0 = ref a;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a, 3 * lda);
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref b, offset);
            TV b1 = TS.Load(ref b, offset + w);
            TV x = TS.Create(Unsafe.Add(ref a0, p));
            c00 = TS.MultiplyAdd(x, b0, c00);
            c01 = TS.MultiplyAdd(x, b1, c01);
            x = TS.Create(Unsafe.Add(ref a1, p));
            c10 = TS.MultiplyAdd(x, b0, c10);
            c11 = TS.MultiplyAdd(x, b1, c11);
            x = TS.Create(Unsafe.Add(ref a2, p));
            c20 = TS.MultiplyAdd(x, b0, c20);
            c21 = TS.MultiplyAdd(x, b1, c21);
            x = TS.Create(Unsafe.Add(ref a3, p));
            c30 = TS.MultiplyAdd(x, b0, c30);
            c31 = TS.MultiplyAdd(x, b1, c31);
            offset += (nuint)width;
        }

        nuint wd = (nuint)ldc;
        TS.Store(c00, ref tile, 0);
        TS.Store(c01, ref tile, w);
        TS.Store(c10, ref tile, wd);
        TS.Store(c11, ref tile, wd + w);
        TS.Store(c20, ref tile, 2 * wd);
        TS.Store(c21, ref tile, (2 * wd) + w);
        TS.Store(c30, ref tile, 3 * wd);
        TS.Store(c31, ref tile, (3 * wd) + w);
    }

    private static void Rows4x1<TS, TV>(ref float a, nint lda, ref float b, int k, int width, ref float tile, nint ldc)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref b, offset);
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p)), b0, c0);
            c1 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, lda + p)), b0, c1);
            c2 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, (2 * lda) + p)), b0, c2);
            c3 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, (3 * lda) + p)), b0, c3);
            offset += (nuint)width;
        }

        nuint wd = (nuint)ldc;
        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, wd);
        TS.Store(c2, ref tile, 2 * wd);
        TS.Store(c3, ref tile, 3 * wd);
    }

    private static void Row1x4<TS, TV>(ref float a, ref float b, int k, int width, ref float tile)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c0 = TS.MultiplyAdd(x, TS.Load(ref b, offset), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(ref b, offset + w), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(ref b, offset + (2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(ref b, offset + (3 * w)), c3);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, w);
        TS.Store(c2, ref tile, 2 * w);
        TS.Store(c3, ref tile, 3 * w);
    }

    private static void Row1x1<TS, TV>(ref float a, ref float b, int k, int width, ref float tile)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV c0 = TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p)), TS.Load(ref b, offset), c0);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
    }
}
