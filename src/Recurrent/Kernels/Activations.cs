using System;
using System.Runtime.CompilerServices;

namespace Recurrent.Kernels;

/// <summary>
/// Vectorised exp, sigmoid and tanh for the fused gate passes, one skeleton for every width.
/// exp: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by a degree-6 Taylor polynomial
/// (relative error below 2e-7 on that range), times 2^n built in the exponent bits. The input is clamped to
/// [-87.3, 88.8]: below, 2^n stays normal; above, n reaches 128, whose exponent bits are +∞, so exp overflows to +∞
/// a little early (from 88.4 rather than 88.72), which sigmoid and tanh turn into their exact limits 0 and ±1.
/// sigmoid(x) = 1 / (1 + e^-x); tanh(x) = 1 - 2 / (1 + e^2x). NaN in gives NaN out.
/// </summary>
internal static class Activations
{
    private const float Ln2Hi = 0.693145751953125f;
    private const float Ln2Lo = 1.428606765330187e-06f;
    private const float Log2E = 1.44269504088896341f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TS, TV>(TV x)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV clamped = TS.Max(TS.Min(x, TS.Create(88.8f)), TS.Create(-87.3f));
        TV n = TS.Round(TS.Multiply(clamped, TS.Create(Log2E)));
        TV r = TS.MultiplyAdd(n, TS.Create(-Ln2Hi), clamped);
        r = TS.MultiplyAdd(n, TS.Create(-Ln2Lo), r);
        TV p = TS.Create(1f / 720f);
        p = TS.MultiplyAdd(p, r, TS.Create(1f / 120f));
        p = TS.MultiplyAdd(p, r, TS.Create(1f / 24f));
        p = TS.MultiplyAdd(p, r, TS.Create(1f / 6f));
        p = TS.MultiplyAdd(p, r, TS.Create(0.5f));
        p = TS.MultiplyAdd(p, r, TS.Create(1f));
        p = TS.MultiplyAdd(p, r, TS.Create(1f));
        return TS.Multiply(p, TS.Pow2(n));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TS, TV>(TV x)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV one = TS.Create(1f);
        TV result = TS.Divide(one, TS.Add(one, Exp<TS, TV>(TS.Subtract(TS.Zero, x))));
        return TS.KeepNaN(x, result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TS, TV>(TV x)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV one = TS.Create(1f);
        TV result = TS.Subtract(one, TS.Divide(TS.Create(2f), TS.Add(one, Exp<TS, TV>(TS.Add(x, x)))));
        return TS.KeepNaN(x, result);
    }

    /// <summary>The scalar tier: MathF, for widths the machine does not accelerate and for the last elements.</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <inheritdoc cref="Sigmoid(float)"/>
    public static float Tanh(float x) => MathF.Tanh(x);
}
