using System;
using System.Runtime.CompilerServices;

namespace Recurrent.Kernels.Formats;

/// <summary>
/// Weights stored as bfloat16 (the high 16 bits of a float32, rounded to nearest even): half the bytes to stream, widened
/// to float32 exactly in registers, so a product with them equals the float32 product with the rounded weights, bit for
/// bit, and the only error is the rounding of the weights.
/// </summary>
internal readonly struct BFloat16Weights : IWeightFormat
{
    public static int ElementSize => sizeof(ushort);

    public static long PanelBytes(int k, int width) => (long)k * width * ElementSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Multiply(ref float a, nint lda, int rows, ref byte panel, int k0, int kb, int width, ref float tile, nint ldc, bool accumulate) =>
        PanelKernels.Multiply<BFloat16Weights>(ref a, lda, rows, ref Unsafe.Add(ref panel, (nint)k0 * width * ElementSize), kb, width, ref tile, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(ref byte panel, nuint index)
        where TS : struct, ISimd<TV>
        where TV : struct =>
        TS.LoadBFloat16(ref Unsafe.As<byte, ushort>(ref panel), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(ref byte panel, nint index) => Widen(Unsafe.Add(ref Unsafe.As<byte, ushort>(ref panel), index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(ref byte data, nint index, float value) => Unsafe.Add(ref Unsafe.As<byte, ushort>(ref data), index) = Round(value);

    /// <summary>float32 → bfloat16, round to nearest even; a NaN stays a (quiet) NaN.</summary>
    public static ushort Round(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>bfloat16 → float32, exact.</summary>
    public static float Widen(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);
}
