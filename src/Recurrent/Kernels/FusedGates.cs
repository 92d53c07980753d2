using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

/// <summary>
/// The pointwise half of a step, run on one tile while it is in L1: <c>tile</c> holds <c>h·W_hhᵀ</c> for up to 4 batch
/// rows and one panel (U hidden units × every gate, gate-major inside the panel); <c>ig</c> holds the input projection
/// with the pre-summed biases in the same packed order. PyTorch's CPU equations (RNN.cpp):
/// LSTM <c>i,f,o = σ, g = tanh; c' = f*c + i*g; h' = o*tanh(c')</c>;
/// GRU <c>r,z = σ(ig + hg); n = tanh(ig_n + r*(hg_n + b_hn)); h' = (h - n)*z + n</c>;
/// RNN <c>h' = act(ig + hg)</c>. Units past <c>valid</c> (the last panel of a hidden size that is not a multiple of U)
/// go through the scalar tail and are never stored into the output.
/// With <c>record</c> (a training forward), the activated gates replace the input projection in <c>ig</c> (LSTM i, f, g, o;
/// GRU r, z, n; RNN h) and a GRU's <c>W_hn h + b_hn</c> replaces the n block of the tile, for the backward pass.
/// </summary>
internal static class FusedGates
{
    public static void Apply(CellKind kind, int unit, ref float tile, int rows, ref float ig, nint ldig, ref float bhn, ref float c, nint ldc, ref float hPrev, nint ldhp, ref float h, nint ldh, int valid, bool record = false)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Apply<Simd512, Vector512<float>>(kind, unit, ref tile, rows, ref ig, ldig, ref bhn, ref c, ldc, ref hPrev, ldhp, ref h, ldh, valid, record);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Apply<Simd256, Vector256<float>>(kind, unit, ref tile, rows, ref ig, ldig, ref bhn, ref c, ldc, ref hPrev, ldhp, ref h, ldh, valid, record);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Apply<Simd128, Vector128<float>>(kind, unit, ref tile, rows, ref ig, ldig, ref bhn, ref c, ldc, ref hPrev, ldhp, ref h, ldh, valid, record);
        }
        else
        {
            ApplyScalar(kind, unit, ref tile, rows, ref ig, ldig, ref bhn, ref c, ldc, ref hPrev, ldhp, ref h, ldh, 0, valid, record);
        }
    }

    /// <summary>One vector tier; units from the first that does not fill a whole vector go to <see cref="ApplyScalar"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Apply<TS, TV>(CellKind kind, int unit, ref float tile, int rows, ref float ig, nint ldig, ref float bhn, ref float c, nint ldc, ref float hPrev, nint ldhp, ref float h, nint ldh, int valid, bool record = false)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        int w = TS.Count;
        int vectorUnits = valid - (valid % w);
        int gates = kind.GateCount();
        int width = gates * unit;
        nuint U = (nuint)unit;
        for (int r = 0; r < rows; r++)
        {
            ref float t = ref Unsafe.Add(ref tile, r * width);
            ref float x = ref Unsafe.Add(ref ig, r * ldig);
            ref float cRow = ref Unsafe.Add(ref c, r * ldc);
            ref float hpRow = ref Unsafe.Add(ref hPrev, r * ldhp);
            ref float hRow = ref Unsafe.Add(ref h, r * ldh);
            for (int j = 0; j < vectorUnits; j += w)
            {
                nuint u = (nuint)j;
                switch (kind)
                {
                    case CellKind.Lstm:
                        {
                            TV i = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u), TS.Load(ref x, u)));
                            TV f = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u + U), TS.Load(ref x, u + U)));
                            TV g = Activations.Tanh<TS, TV>(TS.Add(TS.Load(ref t, u + (2 * U)), TS.Load(ref x, u + (2 * U))));
                            TV o = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u + (3 * U)), TS.Load(ref x, u + (3 * U))));
                            TV cNew = TS.Add(TS.Multiply(f, TS.Load(ref cRow, u)), TS.Multiply(i, g));
                            TS.Store(cNew, ref cRow, u);
                            if (record)
                            {
                                TS.Store(i, ref x, u);
                                TS.Store(f, ref x, u + U);
                                TS.Store(g, ref x, u + (2 * U));
                                TS.Store(o, ref x, u + (3 * U));
                            }

                            TS.Store(TS.Multiply(o, Activations.Tanh<TS, TV>(cNew)), ref hRow, u);
                            break;
                        }

                    case CellKind.Gru:
                        {
                            TV rg = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u), TS.Load(ref x, u)));
                            TV z = Activations.Sigmoid<TS, TV>(TS.Add(TS.Load(ref t, u + U), TS.Load(ref x, u + U)));
                            TV hn = TS.Add(TS.Load(ref t, u + (2 * U)), TS.Load(ref bhn, u));
                            TV n = Activations.Tanh<TS, TV>(TS.Add(TS.Load(ref x, u + (2 * U)), TS.Multiply(rg, hn)));
                            TV hp = TS.Load(ref hpRow, u);
                            TS.Store(TS.Add(TS.Multiply(TS.Subtract(hp, n), z), n), ref hRow, u);
                            if (record)
                            {
                                TS.Store(rg, ref x, u);
                                TS.Store(z, ref x, u + U);
                                TS.Store(n, ref x, u + (2 * U));
                                TS.Store(hn, ref t, u + (2 * U));
                            }

                            break;
                        }

                    case CellKind.RnnTanh:
                        {
                            TV a = Activations.Tanh<TS, TV>(TS.Add(TS.Load(ref t, u), TS.Load(ref x, u)));
                            TS.Store(a, ref hRow, u);
                            if (record)
                            {
                                TS.Store(a, ref x, u);
                            }

                            break;
                        }

                    default:
                        {
                            TV s = TS.Add(TS.Load(ref t, u), TS.Load(ref x, u));
                            TV a = TS.KeepNaN(s, TS.Max(s, TS.Zero));
                            TS.Store(a, ref hRow, u);
                            if (record)
                            {
                                TS.Store(a, ref x, u);
                            }

                            break;
                        }
                }
            }

            ApplyScalar(kind, unit, ref t, 1, ref x, ldig, ref bhn, ref cRow, ldc, ref hpRow, ldhp, ref hRow, ldh, vectorUnits, valid, record);
        }
    }

    /// <summary>The scalar tier, and the tail of the vector tiers: units [<paramref name="start"/>, <paramref name="valid"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ApplyScalar(CellKind kind, int unit, ref float tile, int rows, ref float ig, nint ldig, ref float bhn, ref float c, nint ldc, ref float hPrev, nint ldhp, ref float h, nint ldh, int start, int valid, bool record = false)
    {
        int width = kind.GateCount() * unit;
        int U = unit;
        for (int r = 0; r < rows; r++)
        {
            for (int j = start; j < valid; j++)
            {
                ref float tj = ref Unsafe.Add(ref tile, (r * width) + j);
                ref float xj = ref Unsafe.Add(ref ig, (r * ldig) + j);
                ref float hOut = ref Unsafe.Add(ref h, (r * ldh) + j);
                switch (kind)
                {
                    case CellKind.Lstm:
                        {
                            ref float cRef = ref Unsafe.Add(ref c, (r * ldc) + j);
                            float i = Activations.Sigmoid(tj + xj);
                            float f = Activations.Sigmoid(Unsafe.Add(ref tj, U) + Unsafe.Add(ref xj, U));
                            float g = Activations.Tanh(Unsafe.Add(ref tj, 2 * U) + Unsafe.Add(ref xj, 2 * U));
                            float o = Activations.Sigmoid(Unsafe.Add(ref tj, 3 * U) + Unsafe.Add(ref xj, 3 * U));
                            cRef = (f * cRef) + (i * g);
                            hOut = o * Activations.Tanh(cRef);
                            if (record)
                            {
                                (xj, Unsafe.Add(ref xj, U), Unsafe.Add(ref xj, 2 * U), Unsafe.Add(ref xj, 3 * U)) = (i, f, g, o);
                            }

                            break;
                        }

                    case CellKind.Gru:
                        {
                            float rg = Activations.Sigmoid(tj + xj);
                            float z = Activations.Sigmoid(Unsafe.Add(ref tj, U) + Unsafe.Add(ref xj, U));
                            float hn = Unsafe.Add(ref tj, 2 * U) + Unsafe.Add(ref bhn, j);
                            float n = Activations.Tanh(Unsafe.Add(ref xj, 2 * U) + (rg * hn));
                            hOut = ((Unsafe.Add(ref hPrev, (r * ldhp) + j) - n) * z) + n;
                            if (record)
                            {
                                (xj, Unsafe.Add(ref xj, U), Unsafe.Add(ref xj, 2 * U), Unsafe.Add(ref tj, 2 * U)) = (rg, z, n, hn);
                            }

                            break;
                        }

                    case CellKind.RnnTanh:
                        hOut = Activations.Tanh(tj + xj);
                        if (record)
                        {
                            xj = hOut;
                        }

                        break;

                    default:
                        {
                            float s = tj + xj;
                            hOut = s > 0f || float.IsNaN(s) ? s : 0f;
                            if (record)
                            {
                                xj = hOut;
                            }

                            break;
                        }
                }
            }
        }
    }
}
