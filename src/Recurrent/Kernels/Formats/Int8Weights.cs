using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels.Formats;

/// <summary>
/// Weights stored as int8, symmetric per output channel (a packed column): <c>scale = max |w| / 127</c>,
/// <c>q = clamp(round(w / scale), -127, 127)</c>, a quarter of float32's bytes. A product multiplies them with rows of A
/// quantized per row at run time and accumulates in int32 (<see cref="Int8Kernels"/>), so A reaches
/// <see cref="Multiply"/> as quantized rows (<see cref="QuantizeRows"/>), never as float32. A panel is its columns'
/// scales and weight sums, then the weights four k at a time (<see cref="Int8Kernels"/> has the layout); it is packed and read whole
/// (<see cref="PackPanel"/>, <see cref="UnpackPanel"/>), never element by element.
/// </summary>
internal readonly struct Int8Weights : IWeightFormat
{
    public static int ElementSize => sizeof(sbyte);

    public static bool QuantizesActivations => true;

    /// <summary>The columns' scales and weight sums, then the weights in quads of k.</summary>
    public static long PanelBytes(int k, int width) => (width * 2L * sizeof(float)) + (4L * ((k + 3) / 4) * width);

    /// <summary>A whole panel per product: the zero-point-free integer sum needs all of K before it is rescaled.</summary>
    public static int KBlock(int width) => 1 << 30;

    public static int RowSlots(int k) => Int8Kernels.RowSlots(k);

    public static void QuantizeRows(ref float a, nint lda, int rows, int k, ref float q, nint ldq) => Int8Kernels.QuantizeRows(ref a, lda, rows, k, ref q, ldq);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Multiply(ref float a, nint lda, int rows, ref byte panel, int k0, int kb, int width, ref float tile, nint ldc, bool accumulate)
    {
        if (k0 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(k0), k0, "int8 panels are multiplied whole (KBlock)");
        }

        Int8Kernels.Multiply(ref a, lda, rows, ref panel, kb, width, ref tile, ldc, accumulate);
    }

    public static TV Load<TS, TV>(ref byte panel, nuint index)
        where TS : struct, ISimd<TV>
        where TV : struct =>
        throw new NotSupportedException("int8 weights are multiplied as integers, not widened to float32");

    public static float LoadScalar(ref byte panel, nint index) => throw new NotSupportedException("int8 panels are read whole (UnpackPanel)");

    public static void Write(ref byte data, nint index, float value) => throw new NotSupportedException("int8 panels are packed whole (PackPanel)");

    /// <summary>
    /// Packs a panel from its float32 values <c>(k, width)</c> row-major: each column's scale is <paramref name="scales"/>'
    /// (a checkpoint's), or max |w| / 127 where that is NaN. A column of zeros gets scale 0. Each column's integer sum
    /// follows (the kernels subtract the activations' zero point times it).
    /// </summary>
    public static void PackPanel(ReadOnlySpan<float> values, int k, int width, ReadOnlySpan<float> scales, ref byte panel)
    {
        Span<float> stored = MemoryMarshal.CreateSpan(ref Unsafe.As<byte, float>(ref panel), width);
        Span<int> sums = MemoryMarshal.CreateSpan(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref panel, width * sizeof(float))), width);
        ref sbyte weights = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref panel, width * 2 * sizeof(float)));
        for (int c = 0; c < width; c++)
        {
            float scale = scales[c];
            if (float.IsNaN(scale))
            {
                float max = 0f;
                for (int kk = 0; kk < k; kk++)
                {
                    max = MathF.Max(max, MathF.Abs(values[(kk * width) + c]));
                }

                scale = max / 127f;
            }

            stored[c] = scale;
            int sum = 0;
            for (int kk = 0; kk < k; kk++)
            {
                sbyte q = Quantize(values[(kk * width) + c], scale);
                Unsafe.Add(ref weights, Offset(kk, c, width)) = q;
                sum += q;
            }

            sums[c] = sum;
        }
    }

    /// <summary>The inverse of <see cref="PackPanel"/>: each weight as <c>q · scale</c>, and the columns' scales.</summary>
    public static void UnpackPanel(ref byte panel, int k, int width, Span<float> values, Span<float> scales)
    {
        ref float stored = ref Unsafe.As<byte, float>(ref panel);
        ref sbyte weights = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref panel, width * 2 * sizeof(float)));
        for (int c = 0; c < width; c++)
        {
            float scale = Unsafe.Add(ref stored, c);
            scales[c] = scale;
            for (int kk = 0; kk < k; kk++)
            {
                values[(kk * width) + c] = Unsafe.Add(ref weights, Offset(kk, c, width)) * scale;
            }
        }
    }

    /// <summary>Where weight (k, column c) lives in a panel's weights: its quad of k, its column, its place in the quad.</summary>
    private static nint Offset(int k, int c, int width) => ((nint)(k >> 2) * 4 * width) + (4 * c) + (k & 3);

    /// <summary>One weight: <c>clamp(round(w / scale), -127, 127)</c>, 0 under a zero scale.</summary>
    internal static sbyte Quantize(float w, float scale) => scale == 0f ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(w / scale), -127f, 127f);
}
