using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Recurrent.Engine;
using Recurrent.Kernels.Formats;

namespace Recurrent.Kernels;

/// <summary>
/// Dense products on the register-blocked panel kernels, for the training passes. Full panels are K-blocked (a block of
/// the panel stays in L1 while every 4-row block of A passes over it) and accumulate straight into C; a last, partial panel
/// goes through a 4-row tile. Large products are shared by the worker pool (rows when A is tall, panels otherwise); every
/// element of C is still one FMA chain computed by one worker in one order, so the bits do not depend on the thread count.
/// </summary>
internal static unsafe class DenseGemm
{
    /// <summary><c>C (M, N) (+)= A (M, K) · B</c>, A row stride <paramref name="lda"/>, C row stride <paramref name="ldc"/>.</summary>
    /// <param name="a"></param>
    /// <param name="m"></param>
    /// <param name="lda"></param>
    /// <param name="b"></param>
    /// <param name="c"></param>
    /// <param name="ldc"></param>
    /// <param name="accumulate"></param>
    /// <param name="parallel">False inside a job already running on the worker pool (the pool does not nest).</param>
    public static void Multiply<TW>(ReadOnlySpan<float> a, int m, int lda, PackedMatrix<TW> b, Span<float> c, int ldc, bool accumulate, bool parallel = true)
        where TW : struct, IWeightFormat
    {
        if (m == 0 || b.N == 0)
        {
            return;
        }

        int threads = parallel ? ThreadPolicy.MaxThreads : 1;
        fixed (float* pa = a, pc = c)
        {
            var job = new GemmJob<TW>(pa, m, lda, b, pc, ldc, accumulate);
            if (threads <= 1 || (long)m * b.K * b.N < ThreadPolicy.MinParallelProductWork || !WorkerPool.Shared.TryRun(job, threads))
            {
                job.Execute(0, 1);
            }
        }
    }

    /// <summary>
    /// <c>C (M, ·) (+)= A · B</c> for B's panels [<paramref name="p0"/>, <paramref name="p1"/>) only, on the calling thread
    /// (a worker's share); allocates nothing.
    /// </summary>
    public static void MultiplyPanels<TW>(ReadOnlySpan<float> a, int m, int lda, PackedMatrix<TW> b, Span<float> c, int ldc, int p0, int p1, bool accumulate = true)
        where TW : struct, IWeightFormat
    {
        fixed (float* pa = a, pc = c)
        {
            for (int p = p0; p < p1; p++)
            {
                Panel(pa, lda, b, pc, ldc, accumulate, p, 0, m);
            }
        }
    }

    /// <summary>
    /// The block loop: rows [r0, r1) of <c>C (+)= A · B</c> against panel <paramref name="p"/> of B. A full panel is K-blocked
    /// (a block of the panel stays in L1 while every 4-row block of A passes over it) straight into C; a partial last panel
    /// goes through a 4-row tile and stores only its valid columns.
    /// </summary>
    private static void Panel<TW>(float* a, int lda, PackedMatrix<TW> b, float* c, int ldc, bool accumulate, int p, int r0, int r1)
        where TW : struct, IWeightFormat
    {
        int k = b.K, w = b.PanelWidth, valid = Math.Min(w, b.N - (p * w));
        ref byte panel = ref b.Panel(p);
        ref float aRef = ref Unsafe.AsRef<float>(a);
        ref float cRef = ref Unsafe.AsRef<float>(c + (p * w));
        if (valid == w && k > 0)
        {
            // K-blocking pays when several row blocks share a block of the panel; one row block takes the whole K in one go.
            var none = default(NoEpilogue);
            PanelBlocks<TW, NoEpilogue>(ref aRef, lda, r0, r1, ref panel, k, w, ref Unsafe.Add(ref cRef, (nint)r0 * ldc), ldc, r0, blocked: r1 - r0 > 4, reuseTile: false, accumulate, ref none);
            return;
        }

        // The partial last panel (or K = 0): each 4-row block through a tile, only the valid columns stored.
        Span<float> tile = stackalloc float[4 * w];
        for (int r = r0; r < r1; r += 4)
        {
            int mr = Math.Min(4, r1 - r);
            tile.Clear();
            for (int i = 0; accumulate && i < mr; i++)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cRef, (nint)(r + i) * ldc), valid).CopyTo(tile.Slice(i * w, valid));
            }

            int kc = TW.KBlock(w);
            for (int k0 = 0; k0 < k; k0 += kc)
            {
                TW.Multiply(ref Unsafe.Add(ref aRef, ((nint)r * lda) + k0), lda, mr, ref panel, k0, Math.Min(kc, k - k0), w, ref MemoryMarshal.GetReference(tile), w, accumulate: true);
            }

            for (int i = 0; i < mr; i++)
            {
                tile.Slice(i * w, valid).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref cRef, (nint)(r + i) * ldc), valid));
            }
        }
    }

    /// <summary>Aᵀ for A row-major <c>(rows, cols)</c>, into <paramref name="t"/>: 8 × 8 blocks in AVX registers, the edges (and machines without AVX) by the scalar blocked loop.</summary>
    public static void Transpose(ReadOnlySpan<float> a, int rows, int cols, Span<float> t)
    {
        if ((long)rows * cols > a.Length || (long)rows * cols > t.Length)
        {
            throw new ArgumentException("the matrices are smaller than rows × cols");
        }

        int fullRows = 0, fullCols = 0;
        if (Avx.IsSupported)
        {
            (fullRows, fullCols) = (rows & ~7, cols & ~7);
            TransposeAvx(ref MemoryMarshal.GetReference(a), rows, cols, fullRows, fullCols, ref MemoryMarshal.GetReference(t));
        }

        // What the vector blocks left: the bottom rows (all columns), then the right columns of the full rows.
        TransposeScalar(a, rows, cols, t, fullRows, rows, 0, cols);
        TransposeScalar(a, rows, cols, t, 0, fullRows, fullCols, cols);
    }

    /// <summary>The scalar transpose of rows [r0, r1) × columns [c0, c1), in 16 × 16 blocks so both sides stay in cache.</summary>
    internal static void TransposeScalar(ReadOnlySpan<float> a, int rows, int cols, Span<float> t, int r0, int r1, int c0, int c1)
    {
        const int Block = 16;
        ref float src = ref MemoryMarshal.GetReference(a);
        ref float dst = ref MemoryMarshal.GetReference(t);
        for (int rb = r0; rb < r1; rb += Block)
        {
            int re = Math.Min(r1, rb + Block);
            for (int cb = c0; cb < c1; cb += Block)
            {
                int ce = Math.Min(c1, cb + Block);
                for (int r = rb; r < re; r++)
                {
                    ref float row = ref Unsafe.Add(ref src, (nint)r * cols);
                    for (int col = cb; col < ce; col++)
                    {
                        Unsafe.Add(ref dst, ((nint)col * rows) + r) = Unsafe.Add(ref row, col);
                    }
                }
            }
        }
    }

    /// <summary>The 8 × 8 blocks of rows [0, fullRows) × columns [0, fullCols): unpack, shuffle, then swap 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeAvx(ref float src, int rows, int cols, int fullRows, int fullCols, ref float dst)
    {
        nint ld = cols, lt = rows;
        for (int r0 = 0; r0 < fullRows; r0 += 8)
        {
            for (int c0 = 0; c0 < fullCols; c0 += 8)
            {
                ref float s = ref Unsafe.Add(ref src, ((nint)r0 * ld) + c0);
                Vector256<float> x0 = Vector256.LoadUnsafe(ref s), x1 = Vector256.LoadUnsafe(ref s, (nuint)ld);
                Vector256<float> x2 = Vector256.LoadUnsafe(ref s, (nuint)(2 * ld)), x3 = Vector256.LoadUnsafe(ref s, (nuint)(3 * ld));
                Vector256<float> x4 = Vector256.LoadUnsafe(ref s, (nuint)(4 * ld)), x5 = Vector256.LoadUnsafe(ref s, (nuint)(5 * ld));
                Vector256<float> x6 = Vector256.LoadUnsafe(ref s, (nuint)(6 * ld)), x7 = Vector256.LoadUnsafe(ref s, (nuint)(7 * ld));
                Vector256<float> t0 = Avx.UnpackLow(x0, x1), t1 = Avx.UnpackHigh(x0, x1), t2 = Avx.UnpackLow(x2, x3), t3 = Avx.UnpackHigh(x2, x3);
                Vector256<float> t4 = Avx.UnpackLow(x4, x5), t5 = Avx.UnpackHigh(x4, x5), t6 = Avx.UnpackLow(x6, x7), t7 = Avx.UnpackHigh(x6, x7);
                Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
                Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
                ref float d = ref Unsafe.Add(ref dst, ((nint)c0 * lt) + r0);
                Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref d);
                Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref d, (nuint)lt);
                Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref d, (nuint)(2 * lt));
                Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref d, (nuint)(3 * lt));
                Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref d, (nuint)(4 * lt));
                Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref d, (nuint)(5 * lt));
                Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref d, (nuint)(6 * lt));
                Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref d, (nuint)(7 * lt));
            }
        }
    }

    /// <summary><c>W += Pᵀ</c> for P row-major <c>(rows, cols)</c> and W <c>(cols, rows)</c>, in 16 × 16 blocks.</summary>
    public static void AddTransposed(ReadOnlySpan<float> p, int rows, int cols, Span<float> w)
    {
        const int Block = 16;
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            int r1 = Math.Min(rows, r0 + Block);
            for (int c0 = 0; c0 < cols; c0 += Block)
            {
                int c1 = Math.Min(cols, c0 + Block);
                for (int r = r0; r < r1; r++)
                {
                    for (int col = c0; col < c1; col++)
                    {
                        w[(col * rows) + r] += p[(r * cols) + col];
                    }
                }
            }
        }
    }

    /// <summary>
    /// The block loop, written once: rows [<paramref name="from"/>, <paramref name="to"/>) of A (row stride
    /// <paramref name="lda"/>) times one panel (<paramref name="k"/> × <paramref name="width"/>) by the micro-kernel, 4 rows at
    /// a time. When <paramref name="blocked"/>, K is blocked so that a block of the panel stays in L1 while every row block
    /// passes over it, each row block accumulating in its own rows of <paramref name="c"/> (row r at
    /// <c>(r - <paramref name="cBase"/>) · ldc</c>); otherwise each row block takes the whole K at once, into its own rows or,
    /// with <paramref name="reuseTile"/>, all into the first (the epilogue consumes each at once). Once a row block's K is
    /// complete, <paramref name="epilogue"/> runs on it while it is in L1 (the forward's gate math; nothing for a plain product).
    /// </summary>
    public static void PanelBlocks<TW, TEpilogue>(
        ref float a, nint lda, int from, int to, ref byte panel, int k, int width, ref float c, nint ldc, int cBase, bool blocked, bool reuseTile, bool accumulate, ref TEpilogue epilogue)
        where TW : struct, IWeightFormat
        where TEpilogue : ITileEpilogue, allows ref struct
    {
        if (blocked)
        {
            int kc = TW.KBlock(width);
            for (int k0 = 0; k0 < k; k0 += kc)
            {
                int kb = Math.Min(kc, k - k0);
                for (int r0 = from; r0 < to; r0 += 4)
                {
                    TW.Multiply(ref Unsafe.Add(ref a, (r0 * lda) + k0), lda, Math.Min(4, to - r0), ref panel, k0, kb, width, ref Unsafe.Add(ref c, (r0 - cBase) * ldc), ldc, accumulate || k0 > 0);
                }
            }
        }

        for (int r0 = from; r0 < to; r0 += 4)
        {
            int mr = Math.Min(4, to - r0);
            ref float block = ref reuseTile && !blocked ? ref c : ref Unsafe.Add(ref c, (r0 - cBase) * ldc);
            if (!blocked)
            {
                TW.Multiply(ref Unsafe.Add(ref a, r0 * lda), lda, mr, ref panel, 0, k, width, ref block, ldc, accumulate);
            }

            epilogue.Block(r0, mr, ref block);
        }
    }

    /// <summary>A plain product: nothing after each row block.</summary>
    private readonly struct NoEpilogue : ITileEpilogue
    {
        public void Block(int r0, int rows, ref float tile)
        {
        }
    }

    /// <summary>One product as a parallel job: worker w takes a share of the 4-row blocks of A, or of the panels of B.</summary>
    private sealed class GemmJob<TW>(float* a, int m, int lda, PackedMatrix<TW> b, float* c, int ldc, bool accumulate) : IParallelJob
        where TW : struct, IWeightFormat
    {
        public void Execute(int worker, int workers)
        {
            int blocks = (m + 3) / 4;
            bool byRows = blocks >= 4 * workers || b.Panels < workers;
            (int r0, int r1) = byRows ? (4 * Share(blocks, worker, workers).Start, Math.Min(m, 4 * Share(blocks, worker, workers).End)) : (0, m);
            (int p0, int p1) = byRows ? (0, b.Panels) : Share(b.Panels, worker, workers);
            for (int p = p0; p < p1; p++)
            {
                Panel(p, r0, r1);
            }
        }

        private static (int Start, int End) Share(int count, int rank, int size) => ((count * rank) / size, (count * (rank + 1)) / size);

        private void Panel(int p, int r0, int r1) => DenseGemm.Panel(a, lda, b, c, ldc, accumulate, p, r0, r1);
    }
}
