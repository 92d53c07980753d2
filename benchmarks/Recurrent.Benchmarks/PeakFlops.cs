using System;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using Recurrent.Kernels;

namespace Recurrent.Benchmarks;

/// <summary>
/// <c>peak --threads N</c>: this machine's float32 FMA peak as it runs now, in GFLOP/s over N threads: each thread runs
/// 16 independent chains of the widest FMA (enough to cover the latency of two FMA pipes), best of 5 half-second runs.
/// benchmarks/compare/run.sh divides by it, so "% of peak" stays meaningful on a VM whose speed drifts from day to day.
/// </summary>
public static class PeakFlops
{
    public static int Run(string[] args)
    {
        int threads = args.Length > 2 && args[1] == "--threads" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        double best = 0;
        for (int run = 0; run < 5; run++)
        {
            double[] rates = new double[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => rates[t] = OneThread(0.5));
            best = Math.Max(best, rates.Sum());
        }

        Console.WriteLine(best.ToString("F1", CultureInfo.InvariantCulture));
        return 0;
    }

    private static double Sum(this double[] values)
    {
        double s = 0;
        foreach (double v in values)
        {
            s += v;
        }

        return s;
    }

    /// <summary>GFLOP/s of one thread over about <paramref name="seconds"/>.</summary>
    private static double OneThread(double seconds)
    {
        long iterations = 0;
        var clock = Stopwatch.StartNew();
        float sink = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            sink += Vector512.IsHardwareAccelerated ? Chains<Simd512, Vector512<float>>(100_000) : Chains<Simd256, Vector256<float>>(100_000);
            iterations += 100_000;
        }

        int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        GC.KeepAlive(sink);
        return iterations * 16.0 * lanes * 2 / clock.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>n rounds of 16 independent FMA chains of one width (the library's own tier types, so the FMA is the kernels').</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains<TS, TV>(int n)
        where TS : struct, ISimd<TV>
        where TV : struct
    {
        TV a = TS.Create(0.999f), b = TS.Create(0.001f);
        TV c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
        TV c8 = a, c9 = a, c10 = a, c11 = a, c12 = a, c13 = a, c14 = a, c15 = a;
        for (int i = 0; i < n; i++)
        {
            c0 = TS.MultiplyAdd(c0, a, b);
            c1 = TS.MultiplyAdd(c1, a, b);
            c2 = TS.MultiplyAdd(c2, a, b);
            c3 = TS.MultiplyAdd(c3, a, b);
            c4 = TS.MultiplyAdd(c4, a, b);
            c5 = TS.MultiplyAdd(c5, a, b);
            c6 = TS.MultiplyAdd(c6, a, b);
            c7 = TS.MultiplyAdd(c7, a, b);
            c8 = TS.MultiplyAdd(c8, a, b);
            c9 = TS.MultiplyAdd(c9, a, b);
            c10 = TS.MultiplyAdd(c10, a, b);
            c11 = TS.MultiplyAdd(c11, a, b);
            c12 = TS.MultiplyAdd(c12, a, b);
            c13 = TS.MultiplyAdd(c13, a, b);
            c14 = TS.MultiplyAdd(c14, a, b);
            c15 = TS.MultiplyAdd(c15, a, b);
        }

        float[] sum = new float[TS.Count];
        TV low = TS.Add(TS.Add(TS.Add(c0, c1), TS.Add(c2, c3)), TS.Add(TS.Add(c4, c5), TS.Add(c6, c7)));
        TV high = TS.Add(TS.Add(TS.Add(c8, c9), TS.Add(c10, c11)), TS.Add(TS.Add(c12, c13), TS.Add(c14, c15)));
        TS.Store(TS.Add(low, high), ref sum[0], 0);
        return sum[0];
    }
}
