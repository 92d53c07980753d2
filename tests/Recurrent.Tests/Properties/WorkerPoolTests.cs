using System;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Threading;
using FluentAssertions;
using Recurrent.Engine;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>The worker pool survives any exception: every worker returns, the failure reaches the caller, the pool serves the next job.</summary>
[Collection(nameof(ThreadSettings))]
public sealed class WorkerPoolTests(ITestOutputHelper output)
{
    public static TheoryData<int, int, string> Failures()
    {
        var data = new TheoryData<int, int, string>();
        foreach (int failing in new[] { 0, 1 })
        {
            foreach (int phase in new[] { 0, 1, 2 })
            {
                foreach (string kind in new[] { nameof(InvalidOperationException), nameof(OutOfMemoryException), nameof(ThreadInterruptedException) })
                {
                    data.Add(failing, phase, kind);
                }
            }
        }

        return data;
    }

    /// <summary>
    /// The caller (0) or the worker (1) fails before the first barrier, between the two, or after the last: the call
    /// throws that very exception, both workers have left the job when it returns, and the pool serves the next job.
    /// </summary>
    [Theory]
    [MemberData(nameof(Failures))]
    public void FailureAtAnyPhase_ReachesTheCallerAsItself_EveryWorkerLeaves_PoolStillServes(int failing, int phase, string kind) =>
        RunWithin(() =>
        {
            var job = new BarrierJob(failing, phase, kind);
            Exception thrown = new Action(() => Run(job)).Should().Throw<Exception>().Which;
            thrown.GetType().Name.Should().Be(kind);
            thrown.Message.Should().Be($"worker {failing} failed at phase {phase}");
            job.Returned.Should().Be(2, "both workers left the job before the call returned");
            RunsAgain();
        });

    /// <summary>
    /// Thread.Interrupt in a loop on a thread running 2-thread forwards: each call returns the right result or throws
    /// ThreadInterruptedException, nothing hangs, and afterwards the pool gives the same bits as before.
    /// </summary>
    [Fact]
    public void InterruptsInALoop_DuringParallelForwards_NeverJamThePool() =>
        RunWithin(() =>
        {
            int saved = Parallelism.NumThreads;
            Parallelism.NumThreads = 2;
            try
            {
                var lstm = new Lstm(16, 256, seed: 1).Eval();
                Tensor<float> x = T.Random(2, 1f, 20, 2, 16);
                float[] expected = T.Values(lstm.Forward(x).Output);
                int calls = 0, interrupted = 0, wrong = 0;
                bool done = false;
                var caller = new Thread(() =>
                {
                    while (!Volatile.Read(ref done))
                    {
                        try
                        {
                            float[] actual = T.Values(lstm.Forward(x).Output);
                            if (!actual.AsSpan().SequenceEqual(expected))
                            {
                                wrong++;
                            }

                            calls++;
                        }
                        catch (ThreadInterruptedException)
                        {
                            interrupted++;
                        }
                    }

                    // Consume an interrupt still pending after the last call.
                    try
                    {
                        Thread.Sleep(0);
                    }
                    catch (ThreadInterruptedException)
                    {
                        interrupted++;
                    }
                })
                { IsBackground = true }; // a jammed pool fails the test instead of keeping the process alive
                caller.Start();
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(3) && Volatile.Read(ref interrupted) < 1000)
                {
                    caller.Interrupt();
                    Thread.SpinWait(Random.Shared.Next(1, 20000));
                }

                Volatile.Write(ref done, true);
                caller.Join(TimeSpan.FromSeconds(20)).Should().BeTrue("a call interrupted anywhere must still return");
                output.WriteLine($"{calls} calls returned, {interrupted} were interrupted, in {clock.Elapsed.TotalSeconds:0.0} s");
                wrong.Should().Be(0, "a call that returned gives the right result");
                interrupted.Should().BeGreaterThan(0, "some interrupts must have landed inside a call");
                T.Values(lstm.Forward(x).Output).Should().Equal(expected, "the pool serves the next call");
            }
            finally
            {
                Parallelism.NumThreads = saved;
            }
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
        })
        { IsBackground = true };
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

    private sealed class BarrierJob(int failing, int phase = -1, string kind = "") : IParallelJob
    {
        private readonly SpinBarrier _barrier = new(2);
        private int _returned;

        public int Returned => Volatile.Read(ref _returned);

        public void Execute(int worker, int workers)
        {
            try
            {
                FailIf(worker, 0);
                _barrier.SignalAndWait();
                FailIf(worker, 1);
                _barrier.SignalAndWait();
                FailIf(worker, 2);
            }
            finally
            {
                Interlocked.Increment(ref _returned);
            }
        }

        public void Abort() => _barrier.Break();

        private void FailIf(int worker, int at)
        {
            if (worker != failing || at != phase)
            {
                return;
            }

            string message = $"worker {worker} failed at phase {at}";
            throw kind switch
            {
#pragma warning disable CA2201 // the test injects the exception the runtime throws when memory runs out
                nameof(OutOfMemoryException) => new OutOfMemoryException(message),
#pragma warning restore CA2201
                nameof(ThreadInterruptedException) => new ThreadInterruptedException(message),
                _ => new InvalidOperationException(message),
            };
        }
    }
}
