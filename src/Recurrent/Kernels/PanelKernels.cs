using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Recurrent.Kernels.Formats;

namespace Recurrent.Kernels;

/// <summary>
/// <c>tile[r][c] = Σ_k A[r][k] · panel[k][c]</c> for up to 4 rows of A (row stride <c>lda</c>) and one packed panel
/// (<c>width</c> floats per k), into a tile of row stride <c>ldc</c>. Register-blocked: 4 rows × 2 vectors (8 independent FMA chains, enough to cover FMA
/// latency on two ports), with 4×1, 1×4 and 1×1 shapes for the edges. Every shape accumulates each element as one
/// sequential FMA chain over k starting from zero, so results are bit-identical whichever shape (or thread) ran them.
/// With <c>accumulate</c> the chain continues from the tile's stored values (K-blocking): storing and reloading a float
/// is exact, so a chain split into K-blocks gives the same bits as one unbroken chain.
/// </summary>
/// <remarks>
/// The kernels are <c>AggressiveOptimization</c>: under tiered compilation a call of tens of milliseconds ran Tier-0
/// code for its first ~30 calls (measured: RNN 32,100,256,512 took 31–33 ms per call for the first second of a process,
/// 14–15 ms once tiered up), which is what a service sees on its first requests.
/// </remarks>
internal static class PanelKernels
{
    /// <summary>
    /// K-block for a panel <paramref name="width"/> floats wide: about 32 KB of panel (an L1's worth) per block, so the
    /// block stays in L1 while every row block of A passes over it.
    /// </summary>
    public static int KBlock(int width) => Math.Max(32, (8192 / width) & ~15);

    /// <summary>Dispatches to the widest accelerated tier (the tile width is a multiple of 16 floats, so every width fits).</summary>
    public static void Multiply(ref float a, nint lda, int rows, ref float panel, int k, int width, ref float tile, nint ldc, bool accumulate = false) =>
        Multiply<Float32Weights>(ref a, lda, rows, ref Unsafe.As<float, byte>(ref panel), k, width, ref tile, ldc, accumulate);

    /// <summary>
    /// <see cref="Multiply(ref float, nint, int, ref float, int, int, ref float, nint, bool)"/> for a panel stored in
    /// <typeparamref name="TW"/> (<paramref name="panel"/> is its first weight).
    /// </summary>
    public static void Multiply<TW>(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate = false)
        where TW : struct, IWeightFormat
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Multiply<TW, Simd512, Vector512<float>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Multiply<TW, Simd256, Vector256<float>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Multiply<TW, Simd128, Vector128<float>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
        else
        {
            MultiplyScalar<TW>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
    }

    /// <summary>
    /// Whether one row against two panels of <paramref name="width"/> runs as one pass (<see cref="MultiplyRowPair{TW}"/>):
    /// where 16-lane vectors run and a panel is four of them (LSTM, RNN) or six (GRU), one panel alone keeps only four or
    /// six FMA chains in flight at batch 1; two keep eight or twelve.
    /// </summary>
    public static bool PairsPanels(int width) =>
        Vector512.IsHardwareAccelerated && (width == 4 * Vector512<float>.Count || width == 6 * Vector512<float>.Count);

    /// <summary>
    /// One row of A against two panels at once: <c>tile[0, width) = a · panel0</c>, <c>tile[width, 2·width) = a · panel1</c>,
    /// each element the same single chain over k as <see cref="Multiply{TW}"/> computes, so the same bits.
    /// </summary>
    public static void MultiplyRowPair<TW>(ref float a, ref byte panel0, ref byte panel1, int k, int width, ref float tile)
        where TW : struct, IWeightFormat
    {
        if (PairsPanels(width))
        {
            if (width == 4 * Vector512<float>.Count)
            {
                Row1x8Pair<TW, Simd512, Vector512<float>>(ref a, ref panel0, ref panel1, k, width, ref tile);
            }
            else
            {
                Row1x12Pair<TW, Simd512, Vector512<float>>(ref a, ref panel0, ref panel1, k, width, ref tile);
            }

            return;
        }

        Multiply<TW>(ref a, 0, 1, ref panel0, k, width, ref tile, width);
        Multiply<TW>(ref a, 0, 1, ref panel1, k, width, ref Unsafe.Add(ref tile, width), width);
    }

    /// <summary>One tier on a float32 panel (the kernel tests run every tier this way).</summary>
    internal static void Multiply<TS, TV>(ref float a, nint lda, int rows, ref float panel, int k, int width, ref float tile, nint ldc, bool accumulate = false)
        where TS : struct, ISimd<TV>
        where TV : struct =>
        Multiply<Float32Weights, TS, TV>(ref a, lda, rows, ref Unsafe.As<float, byte>(ref panel), k, width, ref tile, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Multiply<TW, TS, TV>(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate = false)
        where TW : struct, IWeightFormat
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
                    Rows4x4<TW, TS, TV>(ref a, lda, ref Unsafe.Add(ref panel, c * TW.ElementSize), k, width, ref Unsafe.Add(ref tile, c), ldc, accumulate);
                }
            }

            for (; c + (2 * w) <= width; c += 2 * w)
            {
                Rows4x2<TW, TS, TV>(ref a, lda, ref Unsafe.Add(ref panel, c * TW.ElementSize), k, width, ref Unsafe.Add(ref tile, c), ldc, accumulate);
            }

            for (; c < width; c += w)
            {
                Rows4x1<TW, TS, TV>(ref a, lda, ref Unsafe.Add(ref panel, c * TW.ElementSize), k, width, ref Unsafe.Add(ref tile, c), ldc, accumulate);
            }

            return;
        }

        if (rows is 2 or 3 && (4 * (k + width)) <= PadRowsMaxFloats)
        {
            PadToFourRows<TW, TS, TV>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            ref float aRow = ref Unsafe.Add(ref a, r * lda);
            ref float tRow = ref Unsafe.Add(ref tile, r * ldc);
            int c = 0;
            if (width == 6 * w)
            {
                // A GRU panel (3 gates × 32 units) at 16 lanes: one pass with six chains keeps two FMAs in flight per
                // cycle, where 4 + 2 would leave the second pass latency-bound.
                Row1x6<TW, TS, TV>(ref aRow, ref panel, k, width, ref tRow, accumulate);
                c = width;
            }

            for (; c + (4 * w) <= width; c += 4 * w)
            {
                Row1x4<TW, TS, TV>(ref aRow, ref Unsafe.Add(ref panel, c * TW.ElementSize), k, width, ref Unsafe.Add(ref tRow, c), accumulate);
            }

            for (; c < width; c += w)
            {
                Row1x1<TW, TS, TV>(ref aRow, ref Unsafe.Add(ref panel, c * TW.ElementSize), k, width, ref Unsafe.Add(ref tRow, c), accumulate);
            }
        }
    }

    /// <summary>Stack budget of <see cref="PadToFourRows"/>: 4 rows of A and of the tile.</summary>
    private const int PadRowsMaxFloats = 8192;

    /// <summary>
    /// 2 or 3 rows through the 4-row kernels: one pass over the panel instead of one per row (a packed batch's last rows,
    /// a batch of 2 or 3). The rows are copied to a 4-row scratch, the spare rows repeating row 0; their results are dropped.
    /// Copying k floats per row costs far less than streaming the k × width panel again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadToFourRows<TW, TS, TV>(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        Span<float> a4 = stackalloc float[4 * k];
        Span<float> t4 = stackalloc float[4 * width];
        for (int r = 0; r < 4; r++)
        {
            int source = r < rows ? r : 0;
            System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref a, source * lda), k).CopyTo(a4.Slice(r * k, k));
            if (accumulate)
            {
                System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref tile, source * ldc), width).CopyTo(t4.Slice(r * width, width));
            }
        }

        Multiply<TW, TS, TV>(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a4), k, 4, ref panel, k, width, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(t4), width, accumulate);
        for (int r = 0; r < rows; r++)
        {
            t4.Slice(r * width, width).CopyTo(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref Unsafe.Add(ref tile, r * ldc), width));
        }
    }

    /// <summary>The scalar tier; the same sequential multiply-add chain per element (<see cref="FmaPolicy"/>).</summary>
    internal static void MultiplyScalar(ref float a, nint lda, int rows, ref float panel, int k, int width, ref float tile, nint ldc, bool accumulate = false) =>
        MultiplyScalar<Float32Weights>(ref a, lda, rows, ref Unsafe.As<float, byte>(ref panel), k, width, ref tile, ldc, accumulate);

    /// <summary>The scalar tier on a panel stored in <typeparamref name="TW"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyScalar<TW>(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate = false)
        where TW : struct, IWeightFormat
    {
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < width; c++)
            {
                float s = accumulate ? Unsafe.Add(ref tile, (r * ldc) + c) : 0f;
                for (int p = 0; p < k; p++)
                {
                    s = FmaPolicy.MultiplyAdd(Unsafe.Add(ref a, (r * lda) + p), TW.LoadScalar(ref panel, (p * width) + c), s);
                }

                Unsafe.Add(ref tile, (r * ldc) + c) = s;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows4x4<TW, TS, TV>(ref float a, nint lda, ref byte b, int k, int width, ref float tile, nint ldc, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        nuint wd = (nuint)ldc;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero, c33 = TS.Zero;
        if (accumulate)
        {
            c00 = TS.Load(ref tile, 0);
            c01 = TS.Load(ref tile, w);
            c02 = TS.Load(ref tile, 2 * w);
            c03 = TS.Load(ref tile, 3 * w);
            c10 = TS.Load(ref tile, wd);
            c11 = TS.Load(ref tile, wd + w);
            c12 = TS.Load(ref tile, wd + (2 * w));
            c13 = TS.Load(ref tile, wd + (3 * w));
            c20 = TS.Load(ref tile, 2 * wd);
            c21 = TS.Load(ref tile, (2 * wd) + w);
            c22 = TS.Load(ref tile, (2 * wd) + (2 * w));
            c23 = TS.Load(ref tile, (2 * wd) + (3 * w));
            c30 = TS.Load(ref tile, 3 * wd);
            c31 = TS.Load(ref tile, (3 * wd) + w);
            c32 = TS.Load(ref tile, (3 * wd) + (2 * w));
            c33 = TS.Load(ref tile, (3 * wd) + (3 * w));
        }

        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a, 3 * lda);
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), 0);
            TV b1 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), w);
            TV b2 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (2 * w));
            TV b3 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (3 * w));
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows4x2<TW, TS, TV>(ref float a, nint lda, ref byte b, int k, int width, ref float tile, nint ldc, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        nuint wd = (nuint)ldc;
        TV c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero;
        if (accumulate)
        {
            c00 = TS.Load(ref tile, 0);
            c01 = TS.Load(ref tile, w);
            c10 = TS.Load(ref tile, wd);
            c11 = TS.Load(ref tile, wd + w);
            c20 = TS.Load(ref tile, 2 * wd);
            c21 = TS.Load(ref tile, (2 * wd) + w);
            c30 = TS.Load(ref tile, 3 * wd);
            c31 = TS.Load(ref tile, (3 * wd) + w);
        }

        ref float a0 = ref a;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a, 3 * lda);
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), 0);
            TV b1 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), w);
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

        TS.Store(c00, ref tile, 0);
        TS.Store(c01, ref tile, w);
        TS.Store(c10, ref tile, wd);
        TS.Store(c11, ref tile, wd + w);
        TS.Store(c20, ref tile, 2 * wd);
        TS.Store(c21, ref tile, (2 * wd) + w);
        TS.Store(c30, ref tile, 3 * wd);
        TS.Store(c31, ref tile, (3 * wd) + w);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows4x1<TW, TS, TV>(ref float a, nint lda, ref byte b, int k, int width, ref float tile, nint ldc, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint wd = (nuint)ldc;
        TV c0 = accumulate ? TS.Load(ref tile, 0) : TS.Zero;
        TV c1 = accumulate ? TS.Load(ref tile, wd) : TS.Zero;
        TV c2 = accumulate ? TS.Load(ref tile, 2 * wd) : TS.Zero;
        TV c3 = accumulate ? TS.Load(ref tile, 3 * wd) : TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), 0);
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p)), b0, c0);
            c1 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, lda + p)), b0, c1);
            c2 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, (2 * lda) + p)), b0, c2);
            c3 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, (3 * lda) + p)), b0, c3);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, wd);
        TS.Store(c2, ref tile, 2 * wd);
        TS.Store(c3, ref tile, 3 * wd);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1x4<TW, TS, TV>(ref float a, ref byte b, int k, int width, ref float tile, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c0 = accumulate ? TS.Load(ref tile, 0) : TS.Zero;
        TV c1 = accumulate ? TS.Load(ref tile, w) : TS.Zero;
        TV c2 = accumulate ? TS.Load(ref tile, 2 * w) : TS.Zero;
        TV c3 = accumulate ? TS.Load(ref tile, 3 * w) : TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c0 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), 0), c0);
            c1 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), w), c1);
            c2 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (3 * w)), c3);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, w);
        TS.Store(c2, ref tile, 2 * w);
        TS.Store(c3, ref tile, 3 * w);
    }

    /// <summary>Four vectors of each of two panels: eight independent chains, one pass over the row of A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1x8Pair<TW, TS, TV>(ref float a, ref byte b0, ref byte b1, int k, int width, ref float tile)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero, c4 = TS.Zero, c5 = TS.Zero, c6 = TS.Zero, c7 = TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            ref byte r0 = ref Unsafe.Add(ref b0, (nint)offset * TW.ElementSize);
            ref byte r1 = ref Unsafe.Add(ref b1, (nint)offset * TW.ElementSize);
            c0 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 0), c0);
            c1 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, w), c1);
            c2 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 2 * w), c2);
            c3 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 3 * w), c3);
            c4 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 0), c4);
            c5 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, w), c5);
            c6 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 2 * w), c6);
            c7 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 3 * w), c7);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, w);
        TS.Store(c2, ref tile, 2 * w);
        TS.Store(c3, ref tile, 3 * w);
        TS.Store(c4, ref tile, 4 * w);
        TS.Store(c5, ref tile, 5 * w);
        TS.Store(c6, ref tile, 6 * w);
        TS.Store(c7, ref tile, 7 * w);
    }

    /// <summary>Six vectors of each of two panels (GRU): twelve independent chains, one pass over the row of A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1x12Pair<TW, TS, TV>(ref float a, ref byte b0, ref byte b1, int k, int width, ref float tile)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero, c4 = TS.Zero, c5 = TS.Zero;
        TV d0 = TS.Zero, d1 = TS.Zero, d2 = TS.Zero, d3 = TS.Zero, d4 = TS.Zero, d5 = TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            ref byte r0 = ref Unsafe.Add(ref b0, (nint)offset * TW.ElementSize);
            ref byte r1 = ref Unsafe.Add(ref b1, (nint)offset * TW.ElementSize);
            c0 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 0), c0);
            c1 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, w), c1);
            c2 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 2 * w), c2);
            c3 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 3 * w), c3);
            c4 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 4 * w), c4);
            c5 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r0, 5 * w), c5);
            d0 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 0), d0);
            d1 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, w), d1);
            d2 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 2 * w), d2);
            d3 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 3 * w), d3);
            d4 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 4 * w), d4);
            d5 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref r1, 5 * w), d5);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, w);
        TS.Store(c2, ref tile, 2 * w);
        TS.Store(c3, ref tile, 3 * w);
        TS.Store(c4, ref tile, 4 * w);
        TS.Store(c5, ref tile, 5 * w);
        TS.Store(d0, ref tile, 6 * w);
        TS.Store(d1, ref tile, 7 * w);
        TS.Store(d2, ref tile, 8 * w);
        TS.Store(d3, ref tile, 9 * w);
        TS.Store(d4, ref tile, 10 * w);
        TS.Store(d5, ref tile, 11 * w);
    }

    /// <summary>Six vectors of one row: six independent chains, one pass over the row of A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1x6<TW, TS, TV>(ref float a, ref byte b, int k, int width, ref float tile, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        nuint w = (nuint)TS.Count;
        TV c0 = accumulate ? TS.Load(ref tile, 0) : TS.Zero;
        TV c1 = accumulate ? TS.Load(ref tile, w) : TS.Zero;
        TV c2 = accumulate ? TS.Load(ref tile, 2 * w) : TS.Zero;
        TV c3 = accumulate ? TS.Load(ref tile, 3 * w) : TS.Zero;
        TV c4 = accumulate ? TS.Load(ref tile, 4 * w) : TS.Zero;
        TV c5 = accumulate ? TS.Load(ref tile, 5 * w) : TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c0 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), 0), c0);
            c1 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), w), c1);
            c2 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (3 * w)), c3);
            c4 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (4 * w)), c4);
            c5 = TS.MultiplyAdd(x, TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), (5 * w)), c5);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
        TS.Store(c1, ref tile, w);
        TS.Store(c2, ref tile, 2 * w);
        TS.Store(c3, ref tile, 3 * w);
        TS.Store(c4, ref tile, 4 * w);
        TS.Store(c5, ref tile, 5 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1x1<TW, TS, TV>(ref float a, ref byte b, int k, int width, ref float tile, bool accumulate)
        where TW : struct, IWeightFormat
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV c0 = accumulate ? TS.Load(ref tile, 0) : TS.Zero;
        nuint offset = 0;
        for (int p = 0; p < k; p++)
        {
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p)), TW.Load<TS, TV>(ref Unsafe.Add(ref b, (nint)offset * TW.ElementSize), 0), c0);
            offset += (nuint)width;
        }

        TS.Store(c0, ref tile, 0);
    }
}
