using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

/// <summary>
/// The pointwise half of a backward step for one row of H units (PyTorch's layout: gate blocks of H side by side), from the
/// activated gates a training forward recorded. With <c>dh</c> = dL/dh_t (the unprojected h for an LSTM with proj_size):
/// <list type="bullet">
/// <item>LSTM (i, f, g, o): <c>dc = dc_next + dh·o·(1 - tanh²c)</c>; <c>di = dc·g·i(1-i)</c>, <c>df = dc·c_prev·f(1-f)</c>,
/// <c>dg = dc·i·(1-g²)</c>, <c>do = dh·tanh(c)·o(1-o)</c>; dc_prev = dc·f is written back into <c>dc</c>.</item>
/// <item>GRU (r, z, n; hn = W_hn h + b_hn): <c>dn = dh·(1-z)(1-n²)</c>, <c>dz = dh·(h_prev - n)·z(1-z)</c>,
/// <c>dr = dn·hn·r(1-r)</c>; the hidden side differs only in n: <c>dn·r</c>; <c>direct = dh·z</c> (dh_prev's pointwise part).</item>
/// <item>RNN: <c>da = dh·(1-h²)</c> (tanh) or <c>dh·[h &gt; 0]</c> (relu), h being the recorded activation.</item>
/// </list>
/// </summary>
internal static class GateGradients
{
    /// <summary>Dispatches to the widest accelerated tier.</summary>
    /// <param name="kind">The cell.</param>
    /// <param name="units">How many units, from each reference on: H for a whole row, fewer for a worker's share.</param>
    /// <param name="hidden">H: the distance between gate blocks in <paramref name="gates"/>, <paramref name="dGi"/> and <paramref name="dGh"/>.</param>
    /// <param name="gates">Activated gates, gates·H.</param>
    /// <param name="dh">dL/dh_t, H.</param>
    /// <param name="aux">LSTM: c_t; GRU: hn; RNN: unused.</param>
    /// <param name="prev">LSTM: c_{t-1}; GRU: h_{t-1}; RNN: unused.</param>
    /// <param name="dc">LSTM: dL/dc_t from the step after, replaced by dL/dc_{t-1}; GRU: receives dh·z; RNN: unused.</param>
    /// <param name="dGi">Input-side gate gradients, gates·H.</param>
    /// <param name="dGh">GRU: hidden-side gate gradients, gates·H; otherwise unused.</param>
    public static void Apply(CellKind kind, int units, int hidden, ref float gates, ref float dh, ref float aux, ref float prev, ref float dc, ref float dGi, ref float dGh)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Apply<Simd512, Vector512<float>>(kind, units, hidden, ref gates, ref dh, ref aux, ref prev, ref dc, ref dGi, ref dGh);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Apply<Simd256, Vector256<float>>(kind, units, hidden, ref gates, ref dh, ref aux, ref prev, ref dc, ref dGi, ref dGh);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Apply<Simd128, Vector128<float>>(kind, units, hidden, ref gates, ref dh, ref aux, ref prev, ref dc, ref dGi, ref dGh);
        }
        else
        {
            ApplyScalar(kind, units, hidden, ref gates, ref dh, ref aux, ref prev, ref dc, ref dGi, ref dGh, 0);
        }
    }

    /// <summary>One vector tier; the units that do not fill a whole vector go to <see cref="ApplyScalar"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Apply<TS, TV>(CellKind kind, int units, int hidden, ref float gates, ref float dh, ref float aux, ref float prev, ref float dc, ref float dGi, ref float dGh)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        int w = TS.Count;
        int vectorUnits = units - (units % w);
        nuint H = (nuint)hidden;
        TV one = TS.Create(1f);
        for (int j = 0; j < vectorUnits; j += w)
        {
            nuint u = (nuint)j;
            TV d = TS.Load(ref dh, u);
            switch (kind)
            {
                case CellKind.Lstm:
                    {
                        TV i = TS.Load(ref gates, u), f = TS.Load(ref gates, u + H), g = TS.Load(ref gates, u + (2 * H)), o = TS.Load(ref gates, u + (3 * H));
                        TV tc = Activations.Tanh<TS, TV>(TS.Load(ref aux, u));
                        TV dcj = TS.MultiplyAdd(TS.Multiply(d, o), TS.Subtract(one, TS.Multiply(tc, tc)), TS.Load(ref dc, u));
                        TS.Store(TS.Multiply(TS.Multiply(dcj, g), TS.Multiply(i, TS.Subtract(one, i))), ref dGi, u);
                        TS.Store(TS.Multiply(TS.Multiply(dcj, TS.Load(ref prev, u)), TS.Multiply(f, TS.Subtract(one, f))), ref dGi, u + H);
                        TS.Store(TS.Multiply(TS.Multiply(dcj, i), TS.Subtract(one, TS.Multiply(g, g))), ref dGi, u + (2 * H));
                        TS.Store(TS.Multiply(TS.Multiply(d, tc), TS.Multiply(o, TS.Subtract(one, o))), ref dGi, u + (3 * H));
                        TS.Store(TS.Multiply(dcj, f), ref dc, u);
                        break;
                    }

                case CellKind.Gru:
                    {
                        TV r = TS.Load(ref gates, u), z = TS.Load(ref gates, u + H), n = TS.Load(ref gates, u + (2 * H));
                        TV dn = TS.Multiply(TS.Multiply(d, TS.Subtract(one, z)), TS.Subtract(one, TS.Multiply(n, n)));
                        TV dz = TS.Multiply(TS.Multiply(d, TS.Subtract(TS.Load(ref prev, u), n)), TS.Multiply(z, TS.Subtract(one, z)));
                        TV dr = TS.Multiply(TS.Multiply(dn, TS.Load(ref aux, u)), TS.Multiply(r, TS.Subtract(one, r)));
                        TS.Store(dr, ref dGi, u);
                        TS.Store(dz, ref dGi, u + H);
                        TS.Store(dn, ref dGi, u + (2 * H));
                        TS.Store(dr, ref dGh, u);
                        TS.Store(dz, ref dGh, u + H);
                        TS.Store(TS.Multiply(dn, r), ref dGh, u + (2 * H));
                        TS.Store(TS.Multiply(d, z), ref dc, u);
                        break;
                    }

                case CellKind.RnnTanh:
                    {
                        TV h = TS.Load(ref gates, u);
                        TS.Store(TS.Multiply(d, TS.Subtract(one, TS.Multiply(h, h))), ref dGi, u);
                        break;
                    }

                default:
                    TS.Store(TS.WherePositive(TS.Load(ref gates, u), d), ref dGi, u);
                    break;
            }
        }

        ApplyScalar(kind, units, hidden, ref gates, ref dh, ref aux, ref prev, ref dc, ref dGi, ref dGh, vectorUnits);
    }

    /// <summary>The scalar tier (the reference), and the tail of the vector tiers: units [<paramref name="start"/>, <paramref name="units"/>).</summary>
    internal static void ApplyScalar(CellKind kind, int units, int hidden, ref float gates, ref float dh, ref float aux, ref float prev, ref float dc, ref float dGi, ref float dGh, int start)
    {
        int H = hidden;
        for (int j = start; j < units; j++)
        {
            float d = Unsafe.Add(ref dh, j);
            switch (kind)
            {
                case CellKind.Lstm:
                    {
                        float i = Unsafe.Add(ref gates, j), f = Unsafe.Add(ref gates, H + j), g = Unsafe.Add(ref gates, (2 * H) + j), o = Unsafe.Add(ref gates, (3 * H) + j);
                        float tc = Activations.Tanh(Unsafe.Add(ref aux, j));
                        ref float dcRef = ref Unsafe.Add(ref dc, j);
                        float dcj = dcRef + (d * o * (1f - (tc * tc)));
                        Unsafe.Add(ref dGi, j) = dcj * g * (i * (1f - i));
                        Unsafe.Add(ref dGi, H + j) = dcj * Unsafe.Add(ref prev, j) * (f * (1f - f));
                        Unsafe.Add(ref dGi, (2 * H) + j) = dcj * i * (1f - (g * g));
                        Unsafe.Add(ref dGi, (3 * H) + j) = d * tc * (o * (1f - o));
                        dcRef = dcj * f;
                        break;
                    }

                case CellKind.Gru:
                    {
                        float r = Unsafe.Add(ref gates, j), z = Unsafe.Add(ref gates, H + j), n = Unsafe.Add(ref gates, (2 * H) + j);
                        float dn = d * (1f - z) * (1f - (n * n));
                        float dz = d * (Unsafe.Add(ref prev, j) - n) * (z * (1f - z));
                        float dr = dn * Unsafe.Add(ref aux, j) * (r * (1f - r));
                        (Unsafe.Add(ref dGi, j), Unsafe.Add(ref dGi, H + j), Unsafe.Add(ref dGi, (2 * H) + j)) = (dr, dz, dn);
                        (Unsafe.Add(ref dGh, j), Unsafe.Add(ref dGh, H + j), Unsafe.Add(ref dGh, (2 * H) + j)) = (dr, dz, dn * r);
                        Unsafe.Add(ref dc, j) = d * z;
                        break;
                    }

                case CellKind.RnnTanh:
                    {
                        float h = Unsafe.Add(ref gates, j);
                        Unsafe.Add(ref dGi, j) = d * (1f - (h * h));
                        break;
                    }

                default:
                    Unsafe.Add(ref dGi, j) = Unsafe.Add(ref gates, j) > 0f ? d : 0f;
                    break;
            }
        }
    }
}
