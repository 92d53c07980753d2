using System.Runtime.CompilerServices;

namespace Recurrent.Kernels.Formats;

/// <summary>Weights stored as float32: the exact format every module runs on.</summary>
internal readonly struct Float32Weights : IWeightFormat
{
    public static int ElementSize => sizeof(float);

    public static long PanelBytes(int k, int width) => (long)k * width * ElementSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Multiply(ref float a, nint lda, int rows, ref byte panel, int k0, int kb, int width, ref float tile, nint ldc, bool accumulate) =>
        PanelKernels.Multiply<Float32Weights>(ref a, lda, rows, ref Unsafe.Add(ref panel, (nint)k0 * width * ElementSize), kb, width, ref tile, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(ref byte panel, nuint index)
        where TS : struct, ISimd<TV>
        where TV : struct =>
        TS.Load(ref Unsafe.As<byte, float>(ref panel), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(ref byte panel, nint index) => Unsafe.Add(ref Unsafe.As<byte, float>(ref panel), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(ref byte data, nint index, float value) => Unsafe.Add(ref Unsafe.As<byte, float>(ref data), index) = value;
}
