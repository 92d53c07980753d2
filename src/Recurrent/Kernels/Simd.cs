using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// How every tier multiplies and adds: fused (one rounding) where the hardware fuses, as a multiply then an add where
/// it does not. <c>Vector128.FusedMultiplyAdd</c> and <c>MathF.FusedMultiplyAdd</c> are exact on every machine and so
/// fall back to software, element by element, where there is no FMA instruction: 100× slower. That is the case in a
/// NativeAOT image built for the default instruction set, which cannot run VEX-encoded instructions (FMA among them;
/// the compiler enables only SSE-family sets opportunistically), and on x64 CPUs without FMA. One predicate for every
/// tier and the scalar code keeps a process's tiers bit-identical to each other either way; a process without FMA
/// rounds twice per multiply-add, which moves results by float32 rounding, not beyond.
/// </summary>
internal static class FmaPolicy
{
    /// <summary>Whether multiply-adds are fused: x64 with FMA, or Arm64 (AdvSimd fuses).</summary>
    public static bool IsFused
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Fma.IsSupported || AdvSimd.IsSupported;
    }

    /// <summary><c>a · b + addend</c>, fused when <see cref="IsFused"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float addend) => IsFused ? MathF.FusedMultiplyAdd(a, b, addend) : (a * b) + addend;
}

/// <summary>
/// One vector width as a type, so a kernel is written once as a generic skeleton and the JIT specialises it per width
/// (the operator-struct pattern of TensorPrimitives). <c>ISimdVector</c> is not public, hence this small interface.
/// </summary>
internal interface ISimd<TV>
    where TV : struct
{
    public static abstract int Count { get; }

    public static abstract TV Zero { get; }

    public static abstract TV Create(float value);

    public static abstract TV Load(ref float source, nuint offset);

    /// <summary>Count bfloat16 values at <paramref name="offset"/>, widened to float32 exactly (the 16 bits become the high half).</summary>
    public static abstract TV LoadBFloat16(ref ushort source, nuint offset);

    public static abstract void Store(TV value, ref float destination, nuint offset);

    public static abstract TV Add(TV a, TV b);

    public static abstract TV Subtract(TV a, TV b);

    public static abstract TV Multiply(TV a, TV b);

    public static abstract TV Divide(TV a, TV b);

    public static abstract TV Min(TV a, TV b);

    public static abstract TV Max(TV a, TV b);

    public static abstract TV MultiplyAdd(TV a, TV b, TV addend);

    /// <summary>Rounds to the nearest integer (ties to even).</summary>
    public static abstract TV Round(TV value);

    /// <summary>2^n for integral <paramref name="n"/> in [-126, 127], built in the exponent bits.</summary>
    public static abstract TV Pow2(TV n);

    /// <summary><paramref name="value"/> where it is NaN, otherwise <paramref name="result"/> (NaN propagates as in IEEE arithmetic).</summary>
    public static abstract TV KeepNaN(TV value, TV result);

    /// <summary><paramref name="where"/> where <paramref name="value"/> &gt; 0, otherwise 0 (NaN counts as not positive).</summary>
    public static abstract TV WherePositive(TV value, TV where);
}

internal readonly struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Create(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadBFloat16(ref ushort source, nuint offset) =>
        Vector512.ShiftLeft(Vector512.WidenLower(Vector256.LoadUnsafe(ref source, offset).ToVector512Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) =>
        FmaPolicy.IsFused ? Vector512.FusedMultiplyAdd(a, b, addend) : (a * b) + addend;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Round(Vector512<float> value) => Vector512.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> n) =>
        Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> KeepNaN(Vector512<float> value, Vector512<float> result) =>
        Vector512.ConditionalSelect(Vector512.Equals(value, value), result, value);

    public static Vector512<float> WherePositive(Vector512<float> value, Vector512<float> where) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(value, Vector512<float>.Zero), where, Vector512<float>.Zero);
}

internal readonly struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Create(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadBFloat16(ref ushort source, nuint offset) =>
        Vector256.ShiftLeft(Vector256.WidenLower(Vector128.LoadUnsafe(ref source, offset).ToVector256Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) =>
        FmaPolicy.IsFused ? Vector256.FusedMultiplyAdd(a, b, addend) : (a * b) + addend;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> value) => Vector256.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> n) =>
        Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> KeepNaN(Vector256<float> value, Vector256<float> result) =>
        Vector256.ConditionalSelect(Vector256.Equals(value, value), result, value);

    public static Vector256<float> WherePositive(Vector256<float> value, Vector256<float> where) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(value, Vector256<float>.Zero), where, Vector256<float>.Zero);
}

internal readonly struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Create(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadBFloat16(ref ushort source, nuint offset) =>
        Vector128.ShiftLeft(Vector128.WidenLower(Vector64.LoadUnsafe(ref source, offset).ToVector128Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> addend) =>
        FmaPolicy.IsFused ? Vector128.FusedMultiplyAdd(a, b, addend) : (a * b) + addend;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Round(Vector128<float> value) => Vector128.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2(Vector128<float> n) =>
        Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> KeepNaN(Vector128<float> value, Vector128<float> result) =>
        Vector128.ConditionalSelect(Vector128.Equals(value, value), result, value);

    public static Vector128<float> WherePositive(Vector128<float> value, Vector128<float> where) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(value, Vector128<float>.Zero), where, Vector128<float>.Zero);
}
