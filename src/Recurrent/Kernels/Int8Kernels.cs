using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// The int8 products (<see cref="Formats.Int8Weights"/>):
/// <c>tile (+)= ((float)(Σ_k q_a[k]·q_w[k][c] - zp_a · Σ_k q_w[k][c]) · s_a) · s_w[c]</c>, where a row of A was quantized
/// dynamically (<see cref="QuantizeRow"/>: 7-bit unsigned, asymmetric, its own scale and zero point, as PyTorch's x86
/// dynamic quantization does with <c>reduce_range</c>) and each weight column (an output channel) symmetrically to int8
/// with its own scale. The sums are exact in int32 (|q_a - zp| ≤ 127, |q_w| ≤ 127, K ≤ <see cref="MaxK"/>), so every
/// tier gives the same integer whatever instructions and order it adds with, and the rescale is the same two float32
/// multiplications everywhere: the results are bit-identical across tiers, thread counts and batch compositions, and
/// equal to <see cref="MultiplyScalar"/>.
/// </summary>
/// <remarks>
/// Layouts. A quantized row of A is <see cref="RowSlots"/> 4-byte slots: its scale (float32), its zero point (int32),
/// then its k values as bytes in [0, 127], padded with zeros to a multiple of 4, so slot 2 + p holds the quad
/// k = 4p .. 4p + 3. A panel is its columns' scales (width float32), their weight sums (width int32), then per quad of k
/// the width columns' four weights side by side (4 · width signed bytes). One vector of 4·n bytes is then n columns'
/// quads, and a product multiplies it with the row's quad broadcast: u8 × s8 pairs summed to 16 bits (no saturation:
/// 2 · 127 · 127 &lt; 2¹⁵) then pairs of those to 32 bits (x86 <c>pmaddubsw</c>, <c>pmaddwd</c>); with AVX-VNNI one
/// <c>vpdpbusd</c> does both; on ARM64 <c>sdot</c> (the activations, below 128, are valid signed bytes).
/// </remarks>
internal static class Int8Kernels
{
    /// <summary>Largest activation code: 7 bits, so a u8 × s8 pair sum fits 16 bits.</summary>
    public const int Levels = 127;

    /// <summary>
    /// The longest K whose sum <c>Σ (q_a - zp) · q_w</c> fits an int32: <c>int.MaxValue / (127 · 127)</c> (its two
    /// parts are computed modulo 2³², so only the difference must fit). A quantized module refuses wider inputs or states.
    /// </summary>
    public const int MaxK = int.MaxValue / (127 * 127);

    /// <summary>4-byte slots of one quantized row of <paramref name="k"/> values: scale, zero point, then the values in quads.</summary>
    public static int RowSlots(int k) => 2 + ((k + 3) / 4);

    /// <summary>Quantizes <paramref name="rows"/> rows of A (row stride <paramref name="lda"/>) into rows of <paramref name="ldq"/> slots.</summary>
    public static void QuantizeRows(ref float a, nint lda, int rows, int k, ref float q, nint ldq)
    {
        for (int r = 0; r < rows; r++)
        {
            QuantizeRow(ref Unsafe.Add(ref a, r * lda), k, ref Unsafe.Add(ref q, r * ldq));
        }
    }

    /// <summary>
    /// One row, PyTorch's dynamic quantization (<c>choose_qparams</c> with qmin 0, qmax 127): the range [min, max]
    /// widened to hold 0, <c>scale = (max - min) / 127</c> (0.1 when that is 0 or its reciprocal overflows), zero point
    /// <c>zp = round(-min / scale)</c>, <c>q = clamp(round(x · (1 / scale)) + zp, 0, 127)</c>, rounding to nearest even;
    /// x is about <c>(q - zp) · scale</c>. A row holding NaN or infinity gets a NaN scale, so its products are NaN, as
    /// float32's are.
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

        float scale = (max - min) / Levels;
        if (scale == 0f || float.IsInfinity(1f / scale))
        {
            scale = 0.1f;
        }

        if (float.IsNaN(poison) || float.IsNaN(scale))
        {
            scale = float.NaN;
        }

        int zero = float.IsNaN(scale) ? 0 : (int)Math.Clamp(MathF.Round(-min / scale), 0f, Levels);
        float inverse = 1f / scale;
        row = scale;
        Unsafe.As<float, int>(ref Unsafe.Add(ref row, 1)) = zero;
        ref sbyte values = ref Unsafe.As<float, sbyte>(ref Unsafe.Add(ref row, 2));
        i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int n = Vector<float>.Count;
            var vinv = new Vector<float>(inverse);
            var vzero = new Vector<int>(zero);
            var vtop = new Vector<int>(Levels);
            for (; i + (4 * n) <= k; i += 4 * n)
            {
                Vector<int> q0 = Code(Vector.LoadUnsafe(ref x, (nuint)i), vinv, vzero, vtop);
                Vector<int> q1 = Code(Vector.LoadUnsafe(ref x, (nuint)(i + n)), vinv, vzero, vtop);
                Vector<int> q2 = Code(Vector.LoadUnsafe(ref x, (nuint)(i + (2 * n))), vinv, vzero, vtop);
                Vector<int> q3 = Code(Vector.LoadUnsafe(ref x, (nuint)(i + (3 * n))), vinv, vzero, vtop);
                Vector.Narrow(Vector.Narrow(q0, q1), Vector.Narrow(q2, q3)).StoreUnsafe(ref values, (nuint)i);
            }
        }

        for (; i < k; i++)
        {
            Unsafe.Add(ref values, i) = (sbyte)Value(Unsafe.Add(ref x, i), inverse, zero);
        }

        for (; (i & 3) != 0; i++)
        {
            Unsafe.Add(ref values, i) = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Code(Vector<float> x, Vector<float> inverse, Vector<int> zero, Vector<int> top) =>
        Vector.Min(Vector.Max(Vector.ConvertToInt32(Vector.Round(x * inverse)) + zero, Vector<int>.Zero), top);

    /// <summary>One value's code as <see cref="QuantizeRow"/> stores it (the vector loop computes exactly this).</summary>
    internal static int Value(float x, float inverse, int zero)
    {
        float rounded = MathF.Round(x * inverse);
        int q = float.IsNaN(rounded) ? 0 : (int)rounded;
        return Math.Clamp(q + zero, 0, Levels);
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
        else if (Int8Simd128.IsSupported)
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
        int n = TS.Count, quads = (k + 3) / 4;
        ref float scales = ref Unsafe.As<byte, float>(ref panel);
        ref int sums = ref Unsafe.As<byte, int>(ref Unsafe.Add(ref panel, width * sizeof(float)));
        ref sbyte weights = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref panel, width * 2 * sizeof(float)));
        if (rows == 1)
        {
            int c = 0;
            for (; c + (4 * n) <= width; c += 4 * n)
            {
                Row1x4<TS, TV>(ref a, ref Unsafe.Add(ref weights, 4 * c), quads, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref sums, c), ref Unsafe.Add(ref tile, c), accumulate);
            }

            for (; c < width; c += n)
            {
                Rows4x1<TS, TV>(ref a, 0, 1, ref Unsafe.Add(ref weights, 4 * c), quads, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref sums, c), ref Unsafe.Add(ref tile, c), ldc, accumulate);
            }

            return;
        }

        for (int c = 0; c < width;)
        {
            if (c + (2 * n) <= width)
            {
                Rows4x2<TS, TV>(ref a, lda, rows, ref Unsafe.Add(ref weights, 4 * c), quads, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref sums, c), ref Unsafe.Add(ref tile, c), ldc, accumulate);
                c += 2 * n;
            }
            else
            {
                Rows4x1<TS, TV>(ref a, lda, rows, ref Unsafe.Add(ref weights, 4 * c), quads, width, ref Unsafe.Add(ref scales, c), ref Unsafe.Add(ref sums, c), ref Unsafe.Add(ref tile, c), ldc, accumulate);
                c += n;
            }
        }
    }

    /// <summary>One row × 4 vectors of columns: four independent integer chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row1x4<TS, TV>(ref float a, ref sbyte w, int quads, int width, ref float scales, ref int sums, ref float tile, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        nint n = TS.Count, step = 4 * width;
        ref int x = ref Unsafe.As<float, int>(ref Unsafe.Add(ref a, 2));
        ref int xEnd = ref Unsafe.Add(ref x, quads);
        TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero;
        for (; Unsafe.IsAddressLessThan(ref x, ref xEnd); x = ref Unsafe.Add(ref x, 1), w = ref Unsafe.Add(ref w, step))
        {
            TV xq = TS.Broadcast(x);
            c0 = TS.MultiplyAddQuads(c0, xq, TS.Load(ref w));
            c1 = TS.MultiplyAddQuads(c1, xq, TS.Load(ref Unsafe.Add(ref w, 4 * n)));
            c2 = TS.MultiplyAddQuads(c2, xq, TS.Load(ref Unsafe.Add(ref w, 8 * n)));
            c3 = TS.MultiplyAddQuads(c3, xq, TS.Load(ref Unsafe.Add(ref w, 12 * n)));
        }

        (float s, int zero) = (a, Zero(ref a));
        TS.Store(c0, s, zero, ref scales, ref sums, ref tile, accumulate);
        TS.Store(c1, s, zero, ref Unsafe.Add(ref scales, n), ref Unsafe.Add(ref sums, n), ref Unsafe.Add(ref tile, n), accumulate);
        TS.Store(c2, s, zero, ref Unsafe.Add(ref scales, 2 * n), ref Unsafe.Add(ref sums, 2 * n), ref Unsafe.Add(ref tile, 2 * n), accumulate);
        TS.Store(c3, s, zero, ref Unsafe.Add(ref scales, 3 * n), ref Unsafe.Add(ref sums, 3 * n), ref Unsafe.Add(ref tile, 3 * n), accumulate);
    }

    /// <summary>Up to 4 rows × 2 vectors (a missing row repeats the last real one and is not stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4x2<TS, TV>(ref float a, nint lda, int rows, ref sbyte w, int quads, int width, ref float scales, ref int sums, ref float tile, nint ldc, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        nint n = TS.Count, step = 4 * width;

        // One pointer walks row 0's quads; the other rows are fixed distances from it.
        nint o1 = Math.Min(1, rows - 1) * lda, o2 = Math.Min(2, rows - 1) * lda, o3 = Math.Min(3, rows - 1) * lda;
        ref int x = ref Unsafe.As<float, int>(ref Unsafe.Add(ref a, 2));
        ref int xEnd = ref Unsafe.Add(ref x, quads);
        TV c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero;
        for (; Unsafe.IsAddressLessThan(ref x, ref xEnd); x = ref Unsafe.Add(ref x, 1), w = ref Unsafe.Add(ref w, step))
        {
            TV w0 = TS.Load(ref w), w1 = TS.Load(ref Unsafe.Add(ref w, 4 * n));
            TV xq = TS.Broadcast(x);
            c00 = TS.MultiplyAddQuads(c00, xq, w0);
            c01 = TS.MultiplyAddQuads(c01, xq, w1);
            xq = TS.Broadcast(Unsafe.Add(ref x, o1));
            c10 = TS.MultiplyAddQuads(c10, xq, w0);
            c11 = TS.MultiplyAddQuads(c11, xq, w1);
            xq = TS.Broadcast(Unsafe.Add(ref x, o2));
            c20 = TS.MultiplyAddQuads(c20, xq, w0);
            c21 = TS.MultiplyAddQuads(c21, xq, w1);
            xq = TS.Broadcast(Unsafe.Add(ref x, o3));
            c30 = TS.MultiplyAddQuads(c30, xq, w0);
            c31 = TS.MultiplyAddQuads(c31, xq, w1);
        }

        ref float s1 = ref Unsafe.Add(ref scales, n);
        ref int z1 = ref Unsafe.Add(ref sums, n);
        TS.Store(c00, a, Zero(ref a), ref scales, ref sums, ref tile, accumulate);
        TS.Store(c01, a, Zero(ref a), ref s1, ref z1, ref Unsafe.Add(ref tile, n), accumulate);
        if (rows > 1)
        {
            ref float r = ref Unsafe.Add(ref a, lda);
            TS.Store(c10, r, Zero(ref r), ref scales, ref sums, ref Unsafe.Add(ref tile, ldc), accumulate);
            TS.Store(c11, r, Zero(ref r), ref s1, ref z1, ref Unsafe.Add(ref tile, ldc + n), accumulate);
        }

        if (rows > 2)
        {
            ref float r = ref Unsafe.Add(ref a, 2 * lda);
            TS.Store(c20, r, Zero(ref r), ref scales, ref sums, ref Unsafe.Add(ref tile, 2 * ldc), accumulate);
            TS.Store(c21, r, Zero(ref r), ref s1, ref z1, ref Unsafe.Add(ref tile, (2 * ldc) + n), accumulate);
        }

        if (rows > 3)
        {
            ref float r = ref Unsafe.Add(ref a, 3 * lda);
            TS.Store(c30, r, Zero(ref r), ref scales, ref sums, ref Unsafe.Add(ref tile, 3 * ldc), accumulate);
            TS.Store(c31, r, Zero(ref r), ref s1, ref z1, ref Unsafe.Add(ref tile, (3 * ldc) + n), accumulate);
        }
    }

    /// <summary>Up to 4 rows × 1 vector: the column edge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4x1<TS, TV>(ref float a, nint lda, int rows, ref sbyte w, int quads, int width, ref float scales, ref int sums, ref float tile, nint ldc, bool accumulate)
        where TS : struct, IInt8Simd<TV>
        where TV : struct
    {
        for (int r = 0; r < rows; r++)
        {
            ref float aRow = ref Unsafe.Add(ref a, r * lda);
            ref int x = ref Unsafe.As<float, int>(ref Unsafe.Add(ref aRow, 2));
            TV c = TS.Zero;
            for (int p = 0; p < quads; p++)
            {
                c = TS.MultiplyAddQuads(c, TS.Broadcast(Unsafe.Add(ref x, p)), TS.Load(ref Unsafe.Add(ref w, (nint)p * 4 * width)));
            }

            TS.Store(c, aRow, Zero(ref aRow), ref scales, ref sums, ref Unsafe.Add(ref tile, r * ldc), accumulate);
        }
    }

    /// <summary>A quantized row's zero point (slot 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Zero(ref float row) => Unsafe.As<float, int>(ref Unsafe.Add(ref row, 1));

    /// <summary>The scalar reference: the same integer sums and the same rescale, element by element.</summary>
    internal static void MultiplyScalar(ref float a, nint lda, int rows, ref byte panel, int k, int width, ref float tile, nint ldc, bool accumulate)
    {
        int quads = (k + 3) / 4;
        ref float scales = ref Unsafe.As<byte, float>(ref panel);
        ref int sums = ref Unsafe.As<byte, int>(ref Unsafe.Add(ref panel, width * sizeof(float)));
        ref sbyte weights = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref panel, width * 2 * sizeof(float)));
        for (int r = 0; r < rows; r++)
        {
            ref float aRow = ref Unsafe.Add(ref a, r * lda);
            ref byte x = ref Unsafe.As<float, byte>(ref Unsafe.Add(ref aRow, 2));
            for (int c = 0; c < width; c++)
            {
                int sum = 0;
                for (int kk = 0; kk < 4 * quads; kk++)
                {
                    sum += Unsafe.Add(ref x, kk) * Unsafe.Add(ref weights, ((nint)(kk >> 2) * 4 * width) + (4 * c) + (kk & 3));
                }

                sum -= Zero(ref aRow) * Unsafe.Add(ref sums, c);
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

    /// <summary><see cref="Count"/> columns' weight quads (4 · Count signed bytes): a column's quad in its lane.</summary>
    public static abstract TV Load(ref sbyte source);

    /// <summary>One quad of activation bytes in every lane.</summary>
    public static abstract TV Broadcast(int quad);

    /// <summary><c>acc + Σ_j x.byte[j] · w.sbyte[j]</c> per 32-bit lane (x unsigned below 128, w signed; exact).</summary>
    public static abstract TV MultiplyAddQuads(TV acc, TV x, TV weights);

    /// <summary><c>destination (+)= ((float)(acc - zero · sums) · rowScale) · scales</c>.</summary>
    public static abstract void Store(TV acc, float rowScale, int zero, ref float scales, ref int sums, ref float destination, bool accumulate);
}

internal readonly struct Int8Simd512 : IInt8Simd<Vector512<int>>
{
    public static int Count => Vector512<int>.Count;

    public static Vector512<int> Zero => Vector512<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(ref sbyte source) => Vector512.LoadUnsafe(ref source).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Broadcast(int quad) => Vector512.Create(quad);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddQuads(Vector512<int> acc, Vector512<int> x, Vector512<int> weights) =>
        acc + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x.AsByte(), weights.AsSByte()), Vector512<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<int> acc, float rowScale, int zero, ref float scales, ref int sums, ref float destination, bool accumulate)
    {
        Vector512<int> exact = acc - (Vector512.Create(zero) * Vector512.LoadUnsafe(ref sums));
        Vector512<float> value = Vector512.ConvertToSingle(exact) * Vector512.Create(rowScale) * Vector512.LoadUnsafe(ref scales);
        (accumulate ? value + Vector512.LoadUnsafe(ref destination) : value).StoreUnsafe(ref destination);
    }
}

/// <summary>AVX2, or one <c>vpdpbusd</c> per quad where AVX-VNNI runs (the same integers).</summary>
internal readonly struct Int8Simd256 : IInt8Simd<Vector256<int>>
{
    public static int Count => Vector256<int>.Count;

    public static Vector256<int> Zero => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(ref sbyte source) => Vector256.LoadUnsafe(ref source).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Broadcast(int quad) => Vector256.Create(quad);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddQuads(Vector256<int> acc, Vector256<int> x, Vector256<int> weights) =>
        AvxVnni.IsSupported
            ? AvxVnni.MultiplyWideningAndAdd(acc, x.AsByte(), weights.AsSByte())
            : acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x.AsByte(), weights.AsSByte()), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<int> acc, float rowScale, int zero, ref float scales, ref int sums, ref float destination, bool accumulate)
    {
        Vector256<int> exact = acc - (Vector256.Create(zero) * Vector256.LoadUnsafe(ref sums));
        Vector256<float> value = Vector256.ConvertToSingle(exact) * Vector256.Create(rowScale) * Vector256.LoadUnsafe(ref scales);
        (accumulate ? value + Vector256.LoadUnsafe(ref destination) : value).StoreUnsafe(ref destination);
    }
}

/// <summary>SSSE3 on x86; <c>sdot</c> on ARM64 (the activation bytes, below 128, read the same signed).</summary>
internal readonly struct Int8Simd128 : IInt8Simd<Vector128<int>>
{
    public static bool IsSupported => Ssse3.IsSupported || Dp.IsSupported;

    public static int Count => Vector128<int>.Count;

    public static Vector128<int> Zero => Vector128<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load(ref sbyte source) => Vector128.LoadUnsafe(ref source).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Broadcast(int quad) => Vector128.Create(quad);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddQuads(Vector128<int> acc, Vector128<int> x, Vector128<int> weights)
    {
        if (Ssse3.IsSupported)
        {
            return acc + Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(x.AsByte(), weights.AsSByte()), Vector128<short>.One);
        }

        if (Dp.IsSupported)
        {
            return Dp.DotProduct(acc, x.AsSByte(), weights.AsSByte());
        }

        throw new PlatformNotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<int> acc, float rowScale, int zero, ref float scales, ref int sums, ref float destination, bool accumulate)
    {
        Vector128<int> exact = acc - (Vector128.Create(zero) * Vector128.LoadUnsafe(ref sums));
        Vector128<float> value = Vector128.ConvertToSingle(exact) * Vector128.Create(rowScale) * Vector128.LoadUnsafe(ref scales);
        (accumulate ? value + Vector128.LoadUnsafe(ref destination) : value).StoreUnsafe(ref destination);
    }
}
