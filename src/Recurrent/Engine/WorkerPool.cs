using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Recurrent.Engine;

/// <summary>
/// Persistent worker threads for the layer driver. Idle workers spin briefly, then block (ManualResetEventSlim), so a
/// burst of forward calls pays no thread wake-up while an idle process burns no CPU. One job runs at a time; a caller
/// that finds the pool busy runs single-threaded instead of waiting (<see cref="TryRun"/>).
/// </summary>
internal sealed class WorkerPool
{
    private static readonly Lazy<WorkerPool> s_shared = new(() => new WorkerPool(Environment.ProcessorCount - 1));

    private readonly ManualResetEventSlim[] _start;
    private readonly object _gate = new();
    private IParallelJob? _job;
    private int _workers;
    private int _remaining;
    private ExceptionDispatchInfo? _failure;

    private WorkerPool(int threads)
    {
        _start = new ManualResetEventSlim[Math.Max(0, threads)];
        for (int i = 0; i < _start.Length; i++)
        {
            _start[i] = new ManualResetEventSlim(false, spinCount: 2000);
            int worker = i + 1;
            var thread = new Thread(() => Loop(worker)) { IsBackground = true, Name = "Recurrent worker " + worker };
            thread.Start();
        }
    }

    public static WorkerPool Shared => s_shared.Value;

    /// <summary>The most workers a job can have: the caller plus the pool's threads.</summary>
    public int MaxWorkers => _start.Length + 1;

    /// <summary>Runs <paramref name="job"/> on <paramref name="workers"/> threads, or returns false at once if the pool is busy.</summary>
    public bool TryRun(IParallelJob job, int workers)
    {
        if (!Monitor.TryEnter(_gate))
        {
            return false;
        }

        try
        {
            workers = Math.Min(workers, MaxWorkers);
            RecurrentEventSource.Log.ParallelRun(workers);
            _job = job;
            _workers = workers;
            _failure = null;
            Volatile.Write(ref _remaining, workers - 1);
            for (int i = 1; i < workers; i++)
            {
                _start[i - 1].Set();
            }

            Exception? callerFailure = null;
            try
            {
                job.Execute(0, workers);
            }
            catch (Exception e)
            {
                callerFailure = e;
                job.Abort();
            }

            // Every worker returns before the caller does (they write into memory the caller pinned), whatever interrupts
            // this thread meanwhile: an interrupt is delivered once they have.
            bool interrupted = false;
            var spin = default(SpinWait);
            while (Volatile.Read(ref _remaining) > 0)
            {
                try
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                catch (ThreadInterruptedException)
                {
                    interrupted = true;
                }
            }

            _job = null;

            // The first real failure reaches the caller as itself (with the worker's stack trace), whoever had it. An
            // interrupt caught while waiting is not lost: it is thrown here, or re-armed for the caller's next wait.
            ExceptionDispatchInfo? workerFailure = _failure;
            if (callerFailure is not null && (callerFailure is not BarrierBrokenException || workerFailure is null))
            {
                Rearm(interrupted);
                ExceptionDispatchInfo.Throw(callerFailure);
            }

            if (workerFailure is not null)
            {
                Rearm(interrupted);
                workerFailure.Throw();
            }

            if (interrupted)
            {
                throw new ThreadInterruptedException();
            }

            return true;
        }
        finally
        {
            Monitor.Exit(_gate);
        }
    }

    private static void Rearm(bool interrupted)
    {
        if (interrupted)
        {
            Thread.CurrentThread.Interrupt();
        }
    }

    private void Loop(int worker)
    {
        ManualResetEventSlim start = _start[worker - 1];
        while (true)
        {
            start.Wait();
            start.Reset();
            try
            {
                _job!.Execute(worker, _workers);
            }
            catch (Exception e)
            {
                // The first real failure is the one reported; the others were released from their barriers by it.
                if (e is not BarrierBrokenException || Volatile.Read(ref _failure) is null)
                {
                    Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                }

                _job!.Abort();
            }
            finally
            {
                Interlocked.Decrement(ref _remaining);
            }
        }
    }
}
