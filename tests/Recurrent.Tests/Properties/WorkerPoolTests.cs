using System;
using System.Diagnostics;
using System.Threading;
using FluentAssertions;
using Recurrent.Engine;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>The worker pool survives any exception: every worker returns, the failure reaches the caller, the pool serves the next job.</summary>
[Collection(nameof(ThreadSettings))]
public sealed class WorkerPoolTests
{
    [Fact]
    public void CallerFailsBeforeTheBarrier_WorkerIsReleased_FailureReported_PoolStillServes() =>
        RunWithin(() =>
        {
            var job = new BarrierJob(failing: 0);
            new Action(() => Run(job)).Should().Throw<InvalidOperationException>().WithMessage("worker 0 failed");
            job.Returned.Should().Be(2, "both workers returned");
            RunsAgain();
        });

    [Fact]
    public void WorkerFailsBeforeTheBarrier_CallerIsReleased_FailureReported_PoolStillServes() =>
        RunWithin(() =>
        {
            var job = new BarrierJob(failing: 1);
            new Action(() => Run(job)).Should().Throw<AggregateException>().WithInnerException<InvalidOperationException>().WithMessage("worker 1 failed");
            job.Returned.Should().Be(2, "both workers returned");
            RunsAgain();
        });

    private static void RunWithin(Action test)
    {
        if (WorkerPool.Shared.MaxWorkers < 2)
        {
            return; // one core: the pool has no worker thread to fail
        }

        var thread = new Thread(() =>
        {
            try
            {
                test();
            }
            catch (Exception e)
            {
                Failure = e;
            }
        });
        Failure = null;
        thread.Start();
        thread.Join(TimeSpan.FromSeconds(30)).Should().BeTrue("the pool must not hang");
        if (Failure is not null)
        {
            throw new Xunit.Sdk.XunitException("the test failed: " + Failure);
        }
    }

    private static Exception? Failure { get; set; }

    /// <summary>Runs the job on two threads, waiting while tests in other collections hold the shared pool.</summary>
    private static void Run(IParallelJob job)
    {
        var clock = Stopwatch.StartNew();
        while (!WorkerPool.Shared.TryRun(job, 2))
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the pool should come free");
            Thread.Sleep(1);
        }
    }

    private static void RunsAgain()
    {
        var job = new BarrierJob(failing: -1);
        Run(job);
        job.Returned.Should().Be(2, "the pool serves the next job");
    }

    private sealed class BarrierJob(int failing) : IParallelJob
    {
        private readonly SpinBarrier _barrier = new(2);
        private int _returned;

        public int Returned => Volatile.Read(ref _returned);

        public void Execute(int worker, int workers)
        {
            try
            {
                if (worker == failing)
                {
                    throw new InvalidOperationException($"worker {worker} failed");
                }

                _barrier.SignalAndWait();
                _barrier.SignalAndWait();
            }
            finally
            {
                Interlocked.Increment(ref _returned);
            }
        }

        public void Abort() => _barrier.Break();
    }
}
