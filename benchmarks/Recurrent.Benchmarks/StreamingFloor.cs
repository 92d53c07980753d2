using System;
using System.Globalization;
using System.Runtime.Intrinsics;

namespace Recurrent.Benchmarks;

/// <summary>
/// <c>floor</c>: the weight-streaming floor of every batch-1 inference configuration: at batch 1 a step must read all of
/// W_hh, so T passes over W_hh (gates × H × H floats per layer and direction, summed with four vector accumulators) bound
/// the forward from below, whatever the arithmetic. Prints <c>name&lt;TAB&gt;median ms</c> (the input projection, done once
/// for all steps, is not in it).
/// </summary>
public static class StreamingFloor
{
    public static int Run()
    {
        foreach (BenchConfig c in BenchConfig.All)
        {
            if (c.Batch != 1 || c.Train || c.Packed || c.Kind == "lstmcell")
            {
                continue;
            }

            float[] w = new float[(long)c.Gates * c.Hidden * c.Hidden * c.Layers * (c.Bidirectional ? 2 : 1)];
            for (int i = 0; i < w.Length; i++)
            {
                w[i] = i * 1e-9f;
            }

            float sink = 0;
            double ms = MedianTimer.Median(
                () =>
                {
                    for (int t = 0; t < c.Seq; t++)
                    {
                        sink += Pass(w);
                    }
                },
                1.0);
            GC.KeepAlive(sink);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Name}\t{ms:F4}"));
        }

        return 0;
    }

    private static float Pass(float[] w)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        ref float r = ref w[0];
        nuint i = 0;
        for (; i + 32 <= (nuint)w.Length; i += 32)
        {
            a0 += Vector256.LoadUnsafe(ref r, i);
            a1 += Vector256.LoadUnsafe(ref r, i + 8);
            a2 += Vector256.LoadUnsafe(ref r, i + 16);
            a3 += Vector256.LoadUnsafe(ref r, i + 24);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3);
    }
}
