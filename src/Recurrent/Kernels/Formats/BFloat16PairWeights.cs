using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels.Formats;

/// <summary>
/// bfloat16 weights laid out for 16-lane vectors: each group of 32 consecutive weights is stored as 16 32-bit words, word
/// i holding weight i in its low half and weight 16 + i in its high half. One 64-byte load then gives two vectors of
/// float32 with one instruction each: the low weights by a 16-bit left shift, the high ones by masking off the low half,
/// where the plain layout (<see cref="BFloat16Weights"/>) needs a widening shuffle and a shift per vector, which bounds a
/// batch-1 step by instructions rather than bytes. The values, and so every product's bits, are those of
/// <see cref="BFloat16Weights"/>. Panel widths must be multiples of 32 (every packed panel's is); the kernels' column
/// blocks then start on a group. It is made only where 16-lane vectors run; the scalar tier reads it too.
/// </summary>
internal readonly struct BFloat16PairWeights : IWeightFormat
{
    /// <summary>Weights per group: two vectors of 16.</summary>
    public const int Group = 32;

    public static int ElementSize => sizeof(ushort);

    public static long PanelBytes(int k, int width)
    {
        if (width % Group != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, "the paired bfloat16 layout needs panel widths that are multiples of 32");
        }

        return (long)k * width * ElementSize;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Multiply(ref float a, nint lda, int rows, ref byte panel, int k0, int kb, int width, ref float tile, nint ldc, bool accumulate) =>
        PanelKernels.Multiply<BFloat16PairWeights>(ref a, lda, rows, ref Unsafe.Add(ref panel, (nint)k0 * width * ElementSize), kb, width, ref tile, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(ref byte panel, nuint index)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        if (TS.Count == 16 && typeof(TV) == typeof(Vector512<float>))
        {
            // The group's 16 words; which half is this vector is the index's bit 4.
            Vector512<uint> words = Vector512.LoadUnsafe(ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref panel, (nint)(index & ~(nuint)(Group - 1)) * ElementSize)));
            Vector512<uint> value = (index & 16) == 0 ? Vector512.ShiftLeft(words, 16) : words & Vector512.Create(0xFFFF0000u);
            return (TV)(object)value.AsSingle();
        }

        // The narrower tiers shift the panel by column blocks that are not whole groups: this layout is only made where
        // 16-lane vectors run (QuantizedLayers), and the scalar tier reads it element by element.
        throw new NotSupportedException($"the paired bfloat16 layout runs on 16-lane vectors, not {TS.Count}");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(ref byte panel, nint index) => BFloat16Weights.Widen(Unsafe.Add(ref Unsafe.As<byte, ushort>(ref panel), Slot(index)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(ref byte data, nint index, float value) => Unsafe.Add(ref Unsafe.As<byte, ushort>(ref data), Slot(index)) = BFloat16Weights.Round(value);

    /// <summary>Where weight <paramref name="index"/> lives, in 16-bit units: its group, its word in the group, its half of the word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint Slot(nint index) => (index & ~(nint)(Group - 1)) + ((index & 15) << 1) + ((index >> 4) & 1);
}
