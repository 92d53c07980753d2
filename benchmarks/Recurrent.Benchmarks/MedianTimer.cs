using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Recurrent.Benchmarks;

/// <summary>The side-by-side's timing rule, shared by every .NET runner (Recurrent's and ONNX Runtime's) and mirrored by the Python and C++ ones.</summary>
public static class MedianTimer
{
    /// <summary>Warms up (3 calls, or a quarter of the time up to 50 calls), then times calls for about <paramref name="seconds"/> (at least 5) and returns the median in ms.</summary>
    public static double Median(Action call, double seconds)
    {
        var warm = Stopwatch.StartNew();
        int warmups = 0;
        while (warmups < 3 || (warm.Elapsed.TotalSeconds < seconds / 4 && warmups < 50))
        {
            call();
            warmups++;
        }

        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.Elapsed.TotalSeconds < seconds && times.Count < 2000))
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }
}
