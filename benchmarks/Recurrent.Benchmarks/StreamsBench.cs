using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Recurrent.Streaming;

namespace Recurrent.Benchmarks;

/// <summary>
/// <c>streams [--seconds S] [--chunk STEPS] [--streams 1,8,32,128] [--cores N] [--input I] [--hidden H]</c>: N live
/// streams of an LSTM (I → H, I = H unless given), each a client that submits a chunk, awaits its outputs and submits the next (closed loop), served two
/// ways on the same cores: by a <see cref="StreamHost"/> (pending chunks batched into one step) and by a server thread
/// that runs one span <c>Forward</c> call per stream per chunk (what a caller does without the host). Prints a markdown
/// table: time steps per second over all streams, p50 and p99 of a chunk's latency (submit to outputs), the speed-up,
/// and the bytes the host's steps allocated once warm.
/// </summary>
public static class StreamsBench
{
    public static int Run(string[] args)
    {
        double seconds = Option(args, "--seconds", 2.0);
        int chunk = (int)Option(args, "--chunk", 1);
        int cores = (int)Option(args, "--cores", 1);
        int hidden = (int)Option(args, "--hidden", 256);
        int inputSize = (int)Option(args, "--input", hidden);
        int[] counts = Value(args, "--streams") is { } list ? [.. list.Split(',').Select(int.Parse)] : [1, 8, 32, 128];
        if (cores > 0 && cores < Environment.ProcessorCount && (OperatingSystem.IsLinux() || OperatingSystem.IsWindows()))
        {
            Process.GetCurrentProcess().ProcessorAffinity = (nint)((1L << cores) - 1);
        }

        Parallelism.NumThreads = Math.Max(1, cores);
        var model = new Lstm(inputSize, hidden, seed: 1);
        model.Eval();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"LSTM({inputSize}, {hidden}), chunks of {chunk} step(s), {cores} core(s), {seconds} s a row, closed loop (each stream awaits its chunk before the next); {DateTime.UtcNow:yyyy-MM-dd}"));
        Console.WriteLine();
        Console.WriteLine("| streams | one Forward per chunk: steps/s | p50 ms | p99 ms | StreamHost: steps/s | p50 ms | p99 ms | speed-up | bound: one Forward of all N rows, steps/s | host bytes/step (warm) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int n in counts)
        {
            Result single = Measure(n, chunk, seconds, model, hosted: false, out _);
            Result hosted = Measure(n, chunk, seconds, model, hosted: true, out double bytesPerStep);
            double bound = Bound(n, chunk, seconds, model);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {n} | {single.StepsPerSecond:N0} | {single.P50:F3} | {single.P99:F3} | {hosted.StepsPerSecond:N0} | {hosted.P50:F3} | {hosted.P99:F3} | {hosted.StepsPerSecond / single.StepsPerSecond:F2}× | {bound:N0} | {bytesPerStep:F0} |"));
        }

        return 0;
    }

    private readonly record struct Result(double StepsPerSecond, double P50, double P99);

    private static Result Measure(int n, int chunkSteps, double seconds, Lstm model, bool hosted, out double hostBytesPerStep)
    {
        int input = model.InputSize, hidden = model.HiddenSize;
        float[][] chunks = [.. Enumerable.Range(0, n).Select(s => Enumerable.Range(0, chunkSteps * input).Select(i => MathF.Sin((s * 7) + i)).ToArray())];
        float[][] outputs = [.. Enumerable.Range(0, n).Select(_ => new float[chunkSteps * hidden])];
        var latencies = new List<double>[n];
        for (int s = 0; s < n; s++)
        {
            latencies[s] = new List<double>(1 << 16);
        }

        using var host = hosted ? new StreamHost(model) : null;
        using var server = hosted ? null : new SequentialServer(model);
        StreamSession[] streams = host is null ? [] : [.. Enumerable.Range(0, n).Select(_ => host.Open())];
        int[] ids = server is null ? [] : [.. Enumerable.Range(0, n).Select(_ => server.Open())];
        long warmUntil = Stopwatch.GetTimestamp() + (long)(0.3 * Stopwatch.Frequency);
        long stopAt = warmUntil + (long)(seconds * Stopwatch.Frequency);
        long warmSteps = 0, warmBytes = 0;
        long done = 0;

        async Task Client(int s)
        {
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                if (start >= stopAt)
                {
                    return;
                }

                if (host is not null)
                {
                    await streams[s].SubmitAsync(chunks[s], outputs[s]).ConfigureAwait(false);
                }
                else
                {
                    await server!.RunAsync(ids[s], chunks[s], outputs[s]).ConfigureAwait(false);
                }

                long end = Stopwatch.GetTimestamp();
                if (start >= warmUntil && end <= stopAt)
                {
                    latencies[s].Add((end - start) * 1000.0 / Stopwatch.Frequency);
                    Interlocked.Add(ref done, chunkSteps);
                }
            }
        }

        Task all = Task.WhenAll(Enumerable.Range(0, n).Select(s => Task.Run(() => Client(s))));
        if (host is not null)
        {
            while (Stopwatch.GetTimestamp() < warmUntil)
            {
                Thread.Sleep(5);
            }

            StreamHostStatistics warm = host.Statistics;
            (warmSteps, warmBytes) = (warm.Steps, warm.AllocatedBytes);
        }

        all.GetAwaiter().GetResult();
        hostBytesPerStep = 0;
        if (host is not null)
        {
            StreamHostStatistics end = host.Statistics;
            hostBytesPerStep = (end.AllocatedBytes - warmBytes) / (double)Math.Max(1, end.Steps - warmSteps);
        }

        double[] all_ = [.. latencies.SelectMany(l => l).Order()];
        return new Result(done / seconds, Percentile(all_, 0.50), Percentile(all_, 0.99));
    }

    /// <summary>What no host can beat: the N streams' chunks as one (steps, N, H) span Forward, back to back, no clients.</summary>
    private static double Bound(int n, int chunkSteps, double seconds, Lstm model)
    {
        var shape = new SequenceShape(chunkSteps, n, model.InputSize);
        float[] x = [.. Enumerable.Range(0, chunkSteps * n * model.InputSize).Select(i => MathF.Sin(i))];
        float[] y = new float[chunkSteps * n * model.HiddenSize], h = new float[n * model.HiddenSize], c = new float[n * model.HiddenSize];
        var workspace = new RecurrentWorkspace();
        double ms = MedianTimer.Median(() => model.Forward(x, shape, h, c, y, h, c, workspace), Math.Min(seconds, 1.0));
        return chunkSteps * n / (ms / 1000);
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static double Option(string[] args, string name, double fallback) =>
        Value(args, name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The baseline: one server thread, one span Forward call (batch 1) per stream per chunk, state carried in place.</summary>
    private sealed class SequentialServer : IDisposable
    {
        private readonly Lstm _model;
        private readonly Queue<(int Id, float[] Chunk, float[] Output, TaskCompletionSource Done)> _queue = new();
        private readonly List<(float[] H, float[] C)> _states = [];
        private readonly RecurrentWorkspace _workspace = new();
        private readonly Thread _thread;
        private bool _stopped;

        public SequentialServer(Lstm model)
        {
            _model = model;
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        public int Open()
        {
            lock (_queue)
            {
                _states.Add((new float[_model.HiddenSize], new float[_model.HiddenSize]));
                return _states.Count - 1;
            }
        }

        public Task RunAsync(int id, float[] chunk, float[] output)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_queue)
            {
                _queue.Enqueue((id, chunk, output, done));
                Monitor.Pulse(_queue);
            }

            return done.Task;
        }

        public void Dispose()
        {
            lock (_queue)
            {
                _stopped = true;
                Monitor.Pulse(_queue);
            }

            _thread.Join();
        }

        private void Serve()
        {
            while (true)
            {
                (int Id, float[] Chunk, float[] Output, TaskCompletionSource Done) job;
                lock (_queue)
                {
                    while (_queue.Count == 0 && !_stopped)
                    {
                        Monitor.Wait(_queue);
                    }

                    if (_stopped)
                    {
                        return;
                    }

                    job = _queue.Dequeue();
                }

                (float[] h, float[] c) = _states[job.Id];
                var shape = new SequenceShape(job.Chunk.Length / _model.InputSize, 1, _model.InputSize);
                _model.Forward(job.Chunk, shape, h, c, job.Output, h, c, _workspace);
                job.Done.SetResult();
            }
        }
    }
}
