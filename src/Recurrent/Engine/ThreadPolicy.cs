using System;

namespace Recurrent.Engine;

/// <summary>
/// When the engine shares work between the worker pool's threads, in one place for the forward driver, the backward and
/// the dense products. None of it changes a result: every output element is computed whole by one worker in one order.
/// </summary>
internal static class ThreadPolicy
{
    /// <summary>Per-step work below this many multiply-adds runs on one thread: a barrier a step would cost more than it saves.</summary>
    public const long MinParallelStepWork = 40_000;

    /// <summary>Rows per worker from which a layer (forward or backward) shares the batch by rows instead of by hidden units.</summary>
    public const int RowSplitMinRows = 8;

    /// <summary>A dense product below this many multiply-adds runs on the calling thread.</summary>
    public const long MinParallelProductWork = 1L << 24;

    /// <summary>The most workers a call may use: <see cref="Parallelism.NumThreads"/>, at most the pool's.</summary>
    public static int MaxThreads => Math.Min(Parallelism.NumThreads, WorkerPool.Shared.MaxWorkers);
}
