using System;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// How many threads a forward pass may use, like <c>torch.set_num_threads</c>. Results are bit-identical at every
/// thread count: work is split by whole tiles, never inside a sum.
/// </summary>
public static class Parallelism
{
    private static int s_numThreads = Environment.ProcessorCount;

    /// <summary>The most threads one call uses (default: every core). 1 runs on the calling thread alone.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public static int NumThreads
    {
        get => s_numThreads;
        set
        {
            if (value < 1)
            {
                ThrowHelper.OutOfRange(nameof(value), value, "the number of threads must be at least 1");
            }

            s_numThreads = value;
        }
    }
}
