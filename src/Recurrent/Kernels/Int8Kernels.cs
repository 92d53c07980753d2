using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// The int8 products (<see cref="Formats.Int8Weights"/>): <c>tile (+)= ((float)Σ_k q_a[k]·q_w[k][c]) · s_a · s_w[c]</c>, where
/// a row of A was quantized dynamically (<see cref="QuantizeRow"/>: 8-bit, asymmetric, its own scale, as PyTorch's
/// dynamic quantization does) and each weight column (an output channel) symmetrically to int8 with its own scale.
/// The sum is exact in int32 (|q_a| ≤ 255, |q_w| ≤ 127, K ≤ <see cref="MaxK"/>), so every tier gives the same integer
/// whatever order it adds in, and the rescale is the same two float32 multiplications everywhere: the results are
/// bit-identical across tiers, thread counts and batch compositions, and equal to <see cref="MultiplyScalar"/>.
/// </summary>
/// <remarks>
/// Layouts. A quantized row of A is <see cref="RowSlots"/> 4-byte slots: its scale (float32), then its k values as
/// 16-bit integers (<c>q - zero point</c>, in [-255, 255]), padded with a zero to an even count, so slot 1 + p holds
/// the pair (k = 2p, 2p + 1). A panel is its columns' scales (width float32), then per pair of k the width columns'
/// two weights side by side (2 · width signed bytes). A product widens 2·n weights to 16 bits and multiplies them with
/// the broadcast pair, adding each column's two products into its 32-bit lane (x86 <c>pmaddwd</c>; on ARM64 a widening
/// multiply and a pairwise add): the "widen and multiply" path. u8 × s8 dot products (VNNI) would give the same
/// integers; .NET 10 exposes them only as AVX-VNNI (256-bit, VEX) or AVX10, which the CPUs this was built on lack.
/// </remarks>
internal static class Int8Kernels
{
    /// <summary>
    /// The longest K an int32 sum holds without overflow: <c>int.MaxValue / (255 · 127)</c>. A quantized module refuses
    /// wider inputs or states.
    /// </summary>
    public const int MaxK = int.MaxValue / (255 * 127);

    /// <summary>4-byte slots of one quantized row of <paramref name="k"/> values: the scale, then the values in pairs.</summary>
    public static int RowSlots(int k) => 1 + ((k + 1) / 2);

    /// <summary>Quantizes <paramref name="rows"/> rows of A (row stride <paramref name="lda"/>) into rows of <paramref name="ldq"/> slots.</summary>
    public static void QuantizeRows(ref float a, nint lda, int rows, int k, ref float q, nint ldq)
    {
        for (int r = 0; r < rows; r++)
        {
            QuantizeRow(ref Unsafe.Add(ref a, r * lda), k, ref Unsafe.Add(ref q, r * ldq));
        }
    }

    /// <summary>
    /// One row, PyTorch's dynamic quantization (<c>choose_qparams</c> with qmin 0, qmax 255): the range [min, max]
    /// widened to hold 0, <c>scale = (max - min) / 255</c> (0.1 when that is 0 or its reciprocal overflows), zero point
    /// <c>round(-min / scale)</c>, <c>q = clamp(round(x / scale) + zp, 0, 255)</c>, rounding to nearest even; each value
    /// is stored as <c>q - zp</c>. A row holding NaN or infinity gets a NaN scale, so its products are NaN, as float32's are.
    /// </summary>
    public static void QuantizeRow(ref float x, int k, ref float row)
    {
        float min = 0f, max = 0f, poison = 0f;
        int i = 0;
        if (Vector.IsHardwareAccelerated && k >= Vector<float>.Count)
        {
            Vector<float> vmin = Vector<float>.Zero, vmax = Vector<float>.Zero, vpoison = Vector<float>.Zero;
            for (; i + Vector<float>.Count <= k; i += Vector<float>.Count)
            {
                Vector<float> v = Vector.LoadUnsafe(ref x, (nuint)i);
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);

                // NaN or ±infinity times zero is NaN; anything finite gives zero.
                vpoison += v * Vector<float>.Zero;
            }

            for (int j = 0; j < Vector<float>.Count; j++)
            {
                (min, max, poison) = (MathF.Min(min, vmin[j]), MathF.Max(max, vmax[j]), poison + vpoison[j]);
            }
        }

        for (; i < k; i++)
        {
            float v = Unsafe.Add(ref x, i);
            (min, max, poison) = (MathF.Min(min, v), MathF.Max(max, v), poison + (v * 0f));
        }

        float scale = (max - min) / 255f;
        if (scale == 0f || float.IsInfinity(1f / scale))
        {
            scale = 0.1f;
        }

        if (float.IsNaN(poison) || float.IsNaN(scale))
        {
            scale = float.NaN;
        }

        int zero = float.IsNaN(scale) ? 0 : (int)Math.Clamp(MathF.Round(-min / scale), 0f, 255f);
        float inverse = 1f / scale;
        row = scale;
        ref short values = ref Unsafe.As<float, short>(ref Unsafe.Add(ref row, 1));
        i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vinv = new Vector<float>(inverse);
            var vzero = new Vector<int>(zero);
            var vtop = new Vector<int>(255);
            for (; i + (2 * Vector<float>.Count) <= k; i += 2 * Vector<float>.Count)
            {
                Vector<int> lo = Vector.ConvertToInt32(Vector.Round(Vector.LoadUnsafe(ref x, (nuint)i) * vinv));
                Vector<int> hi = Vector.ConvertToInt32(Vector.Round(Vector.LoadUnsafe(ref x, (nuint)(i + Vector<float>.Count)) * vinv));
                lo = Vector.Min(Vector.Max(lo + vzero, Vector<int>.Zero), vtop) - vzero;
                hi = Vector.Min(Vector.Max(hi + vzero, Vector<int>.Zero), vtop) - vzero;
                Vector.Narrow(lo, hi).StoreUnsafe(ref values, (nuint)i);
            }
        }

        for (; i < k; i++)
        {
            Unsafe.Add(ref values, i) = Value(Unsafe.Add(ref x, i), inverse, zero);
        }

        if ((k & 1) != 0)
        {
            Unsafe.Add(ref values, k) = 0;
        }
    }

    /// <summary>One value as <see cref="QuantizeRow"/> stores it (the vector loop computes exactly this).</summary>
    internal static short Value(float x, float inverse, int zero)
    {
        float rounded = MathF.Round(x * inverse);
        int q = float.IsNaN(rounded) ? 0 : (int)rounded;
        return (short)(Math.Clamp(q + zero, 0, 255) - zero);
    }

    /// <summary>
    /// <c>tile (+)= A · panel</c> for up to 4 quantized rows of A (row stride <paramref name="lda"/> slots) and one int8
    /// panel of <paramref name="width"/> columns (a multiple of 16), on the widest tier this machine runs.
    /// </summary>
    public static void Multiply(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate)
    {
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported)
        {
            Multiply<Int8Simd512, Vector512<int>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
        else if (Vector256.IsHardwareAccelerated && Avx2.IsSupported)
        {
            Multiply<Int8Simd256, Vector256<int>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
        else if (Sse41.IsSupported || AdvSimd.Arm64.IsSupported)
        {
            Multiply<Int8Simd128, Vector128<int>>(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
        else
        {
            MultiplyScalar(ref a, lda, rows, ref panel, k, width, ref tile, ldc, accumulate);
        }
    }

    /// <summary>One tier (the kernel tests run each this way). Column blocks of 4 vectors for one row, 2 vectors for 2–4 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Multiply<TS, TV>(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        int n = TS.Count, pairs = (k + 1) / 2;
        ref float scales = ref Unsafe.As<byte, float>(ref panel);
        ref sbyte weights = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref panel, width * sizeof(float)));
        if (rows == 1)
        {
            int c = 0;
            for (; c + (4 * n) <= width; c += 4 * n)
            {
                Row1x4<TS, TV>(ref a, ref Unsafe.Add(ref weights, 2 * c), pairs, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref tile, c), accumulate);
            }

            for (; c < width; c += n)
            {
                Rows4x1<TS, TV>(ref a, 0, 1, ref Unsafe.Add(ref weights, 2 * c), pairs, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref tile, c), ldc, accumulate);
            }

            return;
        }

        for (int c = 0; c < width;)
        {
            if (c + (2 * n) <= width)
            {
                Rows4x2<TS, TV>(ref a, lda, rows, ref Unsafe.Add(ref weights, 2 * c), pairs, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref tile, c), ldc, accumulate);
                c += 2 * n;
            }
            else
            {
                Rows4x1<TS, TV>(ref a, lda, rows, ref Unsafe.Add(ref weights, 2 * c), pairs, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref tile, c), ldc, accumulate);
                c += n;
            }
        }
    }

    /// <summary>One row × 4 vectors of columns: four independent integer chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row1x4<TS, TV>(ref float a, ref sbyte w, int pairs, int width, ref float scales, ref float tile, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        int n = TS.Count;
        ref int x = ref Unsafe.As<float, int>(ref Unsafe.Add(ref a, 1));
        TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero;
        for (int p = 0; p < pairs; p++)
        {
            ref sbyte row = ref Unsafe.Add(ref w, (nint)p * 2 * width);
            TV xp = TS.Broadcast(Unsafe.Add(ref x, p));
            c0 = TS.MultiplyAddPairs(c0, TS.LoadPairs(ref row), xp);
            c1 = TS.MultiplyAddPairs(c1, TS.LoadPairs(ref Unsafe.Add(ref row, 2 * n)), xp);
            c2 = TS.MultiplyAddPairs(c2, TS.LoadPairs(ref Unsafe.Add(ref row, 4 * n)), xp);
            c3 = TS.MultiplyAddPairs(c3, TS.LoadPairs(ref Unsafe.Add(ref row, 6 * n)), xp);
        }

        float s = a;
        TS.Store(c0, s, ref scales, ref tile, accumulate);
        TS.Store(c1, s, ref Unsafe.Add(ref scales, n), ref Unsafe.Add(ref tile, n), accumulate);
        TS.Store(c2, s, ref Unsafe.Add(ref scales, 2 * n), ref Unsafe.Add(ref tile, 2 * n), accumulate);
        TS.Store(c3, s, ref Unsafe.Add(ref scales, 3 * n), ref Unsafe.Add(ref tile, 3 * n), accumulate);
    }

    /// <summary>Up to 4 rows × 2 vectors (a missing row repeats the last real one and is not stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4x2<TS, TV>(ref float a, nint lda, int rows, ref sbyte w, int pairs, int width, ref float scales, ref float tile, nint ldc, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        int n = TS.Count;
        ref int x0 = ref Unsafe.As<float, int>(ref Unsafe.Add(ref a, 1));
        ref int x1 = ref Unsafe.Add(ref x0, Math.Min(1, rows - 1) * lda);
        ref int x2 = ref Unsafe.Add(ref x0, Math.Min(2, rows - 1) * lda);
        ref int x3 = ref Unsafe.Add(ref x0, Math.Min(3, rows - 1) * lda);
        TV c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero;
        for (int p = 0; p < pairs; p++)
        {
            ref sbyte row = ref Unsafe.Add(ref w, (nint)p * 2 * width);
            TV w0 = TS.LoadPairs(ref row), w1 = TS.LoadPairs(ref Unsafe.Add(ref row, 2 * n));
            TV xp = TS.Broadcast(Unsafe.Add(ref x0, p));
            c00 = TS.MultiplyAddPairs(c00, w0, xp);
            c01 = TS.MultiplyAddPairs(c01, w1, xp);
            xp = TS.Broadcast(Unsafe.Add(ref x1, p));
            c10 = TS.MultiplyAddPairs(c10, w0, xp);
            c11 = TS.MultiplyAddPairs(c11, w1, xp);
            xp = TS.Broadcast(Unsafe.Add(ref x2, p));
            c20 = TS.MultiplyAddPairs(c20, w0, xp);
            c21 = TS.MultiplyAddPairs(c21, w1, xp);
            xp = TS.Broadcast(Unsafe.Add(ref x3, p));
            c30 = TS.MultiplyAddPairs(c30, w0, xp);
            c31 = TS.MultiplyAddPairs(c31, w1, xp);
        }

        ref float s1 = ref Unsafe.Add(ref scales, n);
        TS.Store(c00, a, ref scales, ref tile, accumulate);
        TS.Store(c01, a, ref s1, ref Unsafe.Add(ref tile, n), accumulate);
        if (rows > 1)
        {
            float s = Unsafe.Add(ref a, lda);
            TS.Store(c10, s, ref scales, ref Unsafe.Add(ref tile, ldc), accumulate);
            TS.Store(c11, s, ref s1, ref Unsafe.Add(ref tile, ldc + n), accumulate);
        }

        if (rows > 2)
        {
            float s = Unsafe.Add(ref a, 2 * lda);
            TS.Store(c20, s, ref scales, ref Unsafe.Add(ref tile, 2 * ldc), accumulate);
            TS.Store(c21, s, ref s1, ref Unsafe.Add(ref tile, (2 * ldc) + n), accumulate);
        }

        if (rows > 3)
        {
            float s = Unsafe.Add(ref a, 3 * lda);
            TS.Store(c30, s, ref scales, ref Unsafe.Add(ref tile, 3 * ldc), accumulate);
            TS.Store(c31, s, ref s1, ref Unsafe.Add(ref tile, (3 * ldc) + n), accumulate);
        }
    }

    /// <summary>Up to 4 rows × 1 vector: the column edge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4x1<TS, TV>(ref float a, nint lda, int rows, ref sbyte w, int pairs, int width, ref float scales, ref float tile, nint ldc, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        for (int r = 0; r < rows; r++)
        {
            ref float aRow = ref Unsafe.Add(ref a, r * lda);
            ref int x = ref Unsafe.As<float, int>(ref Unsafe.Add(ref aRow, 1));
            TV c = TS.Zero;
            for (int p = 0; p < pairs; p++)
            {
                c = TS.MultiplyAddPairs(c, TS.LoadPairs(ref Unsafe.Add(ref w, (nint)p * 2 * width)), TS.Broadcast(Unsafe.Add(ref x, p)));
            }

            TS.Store(c, aRow, ref scales, ref Unsafe.Add(ref tile, r * ldc), accumulate);
        }
    }

    /// <summary>The scalar reference: the same integer sums and the same rescale, element by element.</summary>
    internal static void MultiplyScalar(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate)
    {
        int pairs = (k + 1) / 2;
        ref float scales = ref Unsafe.As<byte, float>(ref panel);
        ref sbyte weights = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref panel, width * sizeof(float)));
        for (int r = 0; r < rows; r++)
        {
            ref float aRow = ref Unsafe.Add(ref a, r * lda);
            ref short x = ref Unsafe.As<float, short>(ref Unsafe.Add(ref aRow, 1));
            for (int c = 0; c < width; c++)
            {
                int sum = 0;
                for (int kk = 0; kk < 2 * pairs; kk++)
                {
                    sum += Unsafe.Add(ref x, kk) * Unsafe.Add(ref weights, ((nint)(kk >> 1) * 2 * width) + (2 * c) + (kk & 1));
                }

                float value = ((float)sum * aRow) * Unsafe.Add(ref scales, c);
                ref float t = ref Unsafe.Add(ref tile, (r * ldc) + c);
                t = accumulate ? t + value : value;
            }
        }
    }
}

/// <summary>The integer operations of one vector width for <see cref="Int8Kernels"/>: one output column per 32-bit lane.</summary>
internal interface IInt8Simd<TV>
    where TV : struct
{
    /// <summary>Columns per vector.</summary>
    public static abstract int Count { get; }

    public static abstract TV Zero { get; }

    /// <summary><see cref="Count"/> columns' weight pairs (2 · Count signed bytes), each widened to 16 bits: a column's pair in its lane.</summary>
    public static abstract TV LoadPairs(ref sbyte source);

    /// <summary>One pair of 16-bit activations in every lane.</summary>
    public static abstract TV Broadcast(int pair);

    /// <summary><c>acc + w.lo · x.lo + w.hi · x.hi</c> per 32-bit lane (16-bit halves, signed, exact).</summary>
    public static abstract TV MultiplyAddPairs(TV acc, TV weights, TV pair);

    /// <summary><c>destination (+)= ((float)acc · rowScale) · scales</c>.</summary>
    public static abstract void Store(TV acc, float rowScale, ref float scales, ref float destination, bool accumulate);
}

internal readonly struct Int8Simd512 : IInt8Simd<Vector512<int>>
{
    public static int Count => Vector512<int>.Count;

    public static Vector512<int> Zero => Vector512<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> LoadPairs(ref sbyte source) => Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref source)).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Broadcast(int pair) => Vector512.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddPairs(Vector512<int> acc, Vector512<int> weights, Vector512<int> pair) =>
        acc + Avx512BW.MultiplyAddAdjacent(weights.AsInt16(), pair.AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<int> acc, float rowScale, ref float scales, ref float destination, bool accumulate)
    {
        Vector512<float> value = Vector512.ConvertToSingle(acc) * Vector512.Create(rowScale) * Vector512.LoadUnsafe(ref scales);
        (accumulate ? value + Vector512.LoadUnsafe(ref destination) : value).StoreUnsafe(ref destination);
    }
}

internal readonly struct Int8Simd256 : IInt8Simd<Vector256<int>>
{
    public static int Count => Vector256<int>.Count;

    public static Vector256<int> Zero => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> LoadPairs(ref sbyte source) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref source)).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Broadcast(int pair) => Vector256.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddPairs(Vector256<int> acc, Vector256<int> weights, Vector256<int> pair) =>
        acc + Avx2.MultiplyAddAdjacent(weights.AsInt16(), pair.AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<int> acc, float rowScale, ref float scales, ref float destination, bool accumulate)
    {
        Vector256<float> value = Vector256.ConvertToSingle(acc) * Vector256.Create(rowScale) * Vector256.LoadUnsafe(ref scales);
        (accumulate ? value + Vector256.LoadUnsafe(ref destination) : value).StoreUnsafe(ref destination);
    }
}

/// <summary>SSE4.1 on x86; on ARM64 a widening multiply of each half and a pairwise add give the same sums.</summary>
internal readonly struct Int8Simd128 : IInt8Simd<Vector128<int>>
{
    public static int Count => Vector128<int>.Count;

    public static Vector128<int> Zero => Vector128<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> LoadPairs(ref sbyte source)
    {
        if (Sse41.IsSupported)
        {
            return Sse41.ConvertToVector128Int16(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref source))).AsSByte()).AsInt32();
        }

        if (AdvSimd.IsSupported)
        {
            return AdvSimd.SignExtendWideningLower(Vector64.LoadUnsafe(ref source)).AsInt32();
        }

        throw new PlatformNotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Broadcast(int pair) => Vector128.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddPairs(Vector128<int> acc, Vector128<int> weights, Vector128<int> pair)
    {
        if (Sse2.IsSupported)
        {
            return acc + Sse2.MultiplyAddAdjacent(weights.AsInt16(), pair.AsInt16());
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            Vector128<short> w = weights.AsInt16(), x = pair.AsInt16();
            return acc + AdvSimd.Arm64.AddPairwise(AdvSimd.MultiplyWideningLower(w.GetLower(), x.GetLower()), AdvSimd.MultiplyWideningUpper(w, x));
        }

        throw new PlatformNotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<int> acc, float rowScale, ref float scales, ref float destination, bool accumulate)
    {
        Vector128<float> value = Vector128.ConvertToSingle(acc) * Vector128.Create(rowScale) * Vector128.LoadUnsafe(ref scales);
        (accumulate ? value + Vector128.LoadUnsafe(ref destination) : value).StoreUnsafe(ref destination);
    }
}
