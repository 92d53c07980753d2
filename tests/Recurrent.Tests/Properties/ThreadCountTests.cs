using System;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>Work is split by whole tiles, never inside a sum: every thread count gives the same bits.</summary>
[Collection(nameof(ThreadSettings))]
public sealed class ThreadCountTests
{
    [Theory]
    [InlineData("lstm", false, 20, 40)]
    [InlineData("gru", false, 20, 40)]
    [InlineData("rnn", false, 20, 40)]
    [InlineData("lstm", true, 20, 40)]
    [InlineData("lstm", false, 3, 130)]
    [InlineData("gru", false, 1, 200)]
    [InlineData("rnn", false, 2, 300)]
    [InlineData("lstm", true, 5, 100)]
    [InlineData("lstm-proj", false, 18, 50)]
    public void Backward_SameBitsAtEveryThreadCount(string kind, bool packed, int batch, int hidden)
    {
        // Batch 20: two threads share the backward time loop by rows (blocks of 4 rows, 8 and 12) and the large products.
        // A small batch: they share it by hidden units (W_hh's column panels, the last one partial), a barrier a step.
        const int seq = 9, input = 6;
        int saved = Parallelism.NumThreads;
        try
        {
            (float[] Input, float[] H0, float[][] Params)? first = null;
            for (int threads = 1; threads <= 2; threads++)
            {
                Parallelism.NumThreads = threads;
                RnnBase layer = kind switch
                {
                    "lstm" => new Lstm(input, hidden, numLayers: 2, bidirectional: true, seed: 5),
                    "lstm-proj" => new Lstm(input, hidden, numLayers: 2, bidirectional: true, projSize: hidden / 2, seed: 5),
                    "gru" => new Gru(input, hidden, numLayers: 2, bidirectional: true, seed: 5),
                    _ => new Rnn(input, hidden, numLayers: 2, bidirectional: true, seed: 5),
                };
                Tensor<float> x = T.Random(6, 1f, seq, batch, input);
                Tensor<float> gradOut = T.Random(7, 1f, seq, batch, 2 * (kind == "lstm-proj" ? hidden / 2 : hidden));
                int[] lengths = Enumerable.Range(0, batch).Select(b => b == 0 ? seq : 1 + ((b * 5) % seq)).OrderByDescending(l => l).ToArray();
                RnnGradients grads;
                if (packed)
                {
                    var lstm = (Lstm)layer;
                    PackedSequence xs = RnnUtils.PackPaddedSequence(x, lengths);
                    _ = lstm.Forward(xs);
                    grads = lstm.Backward(RnnUtils.PackPaddedSequence(gradOut, lengths));
                }
                else
                {
                    grads = layer switch
                    {
                        Lstm l => Run(l.Forward(x).Output, () => l.Backward(gradOut)),
                        Gru g => Run(g.Forward(x).Output, () => g.Backward(gradOut)),
                        _ => Run(((Rnn)layer).Forward(x).Output, () => ((Rnn)layer).Backward(gradOut)),
                    };
                }

                var result = (T.Values(grads.GradInput), T.Values(grads.GradH0), layer.Parameters().Select(p => T.Values(p.Grad!)).ToArray());
                if (first is null)
                {
                    first = result;
                    continue;
                }

                result.Item1.Should().Equal(first.Value.Input, "dL/d(input) at {0} threads", threads);
                result.Item2.Should().Equal(first.Value.H0, "dL/dh0 at {0} threads", threads);
                for (int i = 0; i < result.Item3.Length; i++)
                {
                    result.Item3[i].Should().Equal(first.Value.Params[i], "parameter {0}'s gradient at {1} threads", i, threads);
                }
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    /// <summary>
    /// A batch-first training call runs on its own rows by strides (as inference does): its output, dL/d(input) and dL/dh0 are
    /// the time-major call's bits laid out batch-first, whether two threads share the time loop by rows (batch 20) or by
    /// hidden units (batch 2); the weight gradients sum the same terms in another row order, so they agree to rounding.
    /// </summary>
    [Theory]
    [InlineData("lstm-proj", 20, 1)]
    [InlineData("lstm-proj", 20, 2)]
    [InlineData("gru", 20, 2)]
    [InlineData("gru", 2, 2)]
    [InlineData("rnn", 2, 1)]
    [InlineData("lstm", 3, 2)]
    public void BatchFirstTraining_GivesTheTimeMajorCallsBits(string kind, int batch, int threads)
    {
        const int seq = 7, input = 5, hidden = 70;
        int saved = Parallelism.NumThreads;
        try
        {
            Parallelism.NumThreads = threads;
            RnnBase Make(bool batchFirst) => kind switch
            {
                "lstm-proj" => new Lstm(input, hidden, numLayers: 2, batchFirst: batchFirst, bidirectional: true, projSize: 30, seed: 8),
                "lstm" => new Lstm(input, hidden, numLayers: 2, batchFirst: batchFirst, bidirectional: true, seed: 8),
                "gru" => new Gru(input, hidden, numLayers: 2, batchFirst: batchFirst, bidirectional: true, seed: 8),
                _ => new Rnn(input, hidden, numLayers: 2, batchFirst: batchFirst, bidirectional: true, seed: 8),
            };
            int outWidth = 2 * (kind == "lstm-proj" ? 30 : hidden);
            Tensor<float> x = T.Random(11, 1f, seq, batch, input), gradOut = T.Random(12, 1f, seq, batch, outWidth);
            RnnBase timeMajor = Make(false), batchFirst = Make(true);
            (Tensor<float> outTm, RnnGradients tm) = Train(timeMajor, x, gradOut);
            (Tensor<float> outBf, RnnGradients bf) = Train(batchFirst, BatchFirst(x, seq, batch, input), BatchFirst(gradOut, seq, batch, outWidth));
            T.Values(outBf).Should().Equal(T.Values(BatchFirst(outTm, seq, batch, outWidth)), "the output");
            T.Values(bf.GradInput).Should().Equal(T.Values(BatchFirst(tm.GradInput, seq, batch, input)), "dL/d(input)");
            T.Values(bf.GradH0).Should().Equal(T.Values(tm.GradH0), "dL/dh0");
            foreach (((string name, Parameter a), (_, Parameter b)) in batchFirst.NamedParameters().Zip(timeMajor.NamedParameters()))
            {
                TensorAssert.Close(T.Values(b.Grad!), T.Values(a.Grad!), 2e-5f, name + ".grad");
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    private static (Tensor<float> Output, RnnGradients Grads) Train(RnnBase layer, Tensor<float> x, Tensor<float> gradOut) => layer switch
    {
        Lstm l => (l.Forward(x).Output, l.Backward(gradOut)),
        Gru g => (g.Forward(x).Output, g.Backward(gradOut)),
        Rnn r => (r.Forward(x).Output, r.Backward(gradOut)),
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };

    /// <summary><c>(T, N, F)</c> → <c>(N, T, F)</c>.</summary>
    private static Tensor<float> BatchFirst(Tensor<float> timeMajor, int seq, int batch, int features)
    {
        float[] source = T.Values(timeMajor), result = new float[source.Length];
        for (int t = 0; t < seq; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                source.AsSpan(((t * batch) + b) * features, features).CopyTo(result.AsSpan(((b * seq) + t) * features));
            }
        }

        return Tensor.Create(result, [batch, seq, features]);
    }

    private static RnnGradients Run(Tensor<float> output, Func<RnnGradients> backward)
    {
        _ = output;
        return backward();
    }

    [Theory]
    [InlineData("lstm", false, 1)]
    [InlineData("lstm", true, 2)]
    [InlineData("gru", true, 1)]
    [InlineData("gru", false, 2)]
    [InlineData("rnn", true, 2)]
    public void TrainingForward_RecordsWithoutChangingABit(string kind, bool batchFirst, int threads)
    {
        // A Train() forward runs the inference driver with the gate pass recording: the numbers must be the Eval() ones.
        int saved = Parallelism.NumThreads;
        Parallelism.NumThreads = threads;
        try
        {
            RnnBase layer = kind switch
            {
                "lstm" => new Lstm(5, 40, numLayers: 2, batchFirst: batchFirst, bidirectional: true, projSize: 24, seed: 3),
                "gru" => new Gru(5, 70, numLayers: 2, batchFirst: batchFirst, bidirectional: true, seed: 3),
                _ => new Rnn(5, 70, numLayers: 2, batchFirst: batchFirst, bidirectional: true, seed: 3),
            };
            Tensor<float> x = T.Random(5, 1f, batchFirst ? 9 : 7, batchFirst ? 7 : 9, 5);
            (float[] Output, float[] HN) Run()
            {
                (Tensor<float> output, Tensor<float> hN) = layer switch
                {
                    Lstm l => (l.Forward(x).Output, l.Forward(x).HN),
                    Gru g => (g.Forward(x).Output, g.Forward(x).HN),
                    _ => (((Rnn)layer).Forward(x).Output, ((Rnn)layer).Forward(x).HN),
                };
                return (T.Values(output), T.Values(hN));
            }

            layer.Eval();
            (float[] evalOut, float[] evalHN) = Run();
            layer.Train();
            (float[] trainOut, float[] trainHN) = Run();
            trainOut.Should().Equal(evalOut);
            trainHN.Should().Equal(evalHN);
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    public static TheoryData<string> Configs => new()
    {
        "lstm 1,7,32,256", "lstm bi proj 5,6,20,100", "gru bi 33,4,16,64", "rnn relu 2,8,48,300",
        "lstm proj 20,5,12,80", "gru 17,4,16,64", // batch split across workers (17: a partial last row block)
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Output_IsBitIdentical_AtEveryThreadCount(string config)
    {
        string[] words = config.Split(' ');
        int[] n = Array.ConvertAll(words[^1].Split(','), int.Parse);
        (int batch, int seq, int input, int hidden) = (n[0], n[1], n[2], n[3]);
        bool bi = config.Contains(" bi", StringComparison.Ordinal);
        Func<Tensor<float>, float[]> run = words[0] switch
        {
            "lstm" => x => T.Values(new Lstm(input, hidden, 2, bidirectional: bi, projSize: config.Contains("proj", StringComparison.Ordinal) ? hidden / 3 : 0, seed: 1).Forward(x).Output),
            "gru" => x => T.Values(new Gru(input, hidden, 2, bidirectional: bi, seed: 1).Forward(x).Output),
            _ => x => T.Values(new Rnn(input, hidden, 2, Nonlinearity.Relu, bidirectional: bi, seed: 1).Forward(x).Output),
        };
        Tensor<float> x = T.Random(2, 1f, seq, batch, input);

        int saved = Parallelism.NumThreads;
        try
        {
            Parallelism.NumThreads = 1;
            float[] one = run(x);
            for (int threads = 2; threads <= Math.Max(2, Environment.ProcessorCount); threads++)
            {
                Parallelism.NumThreads = threads;
                using var parallelRuns = new ParallelRunListener();
                run(x).Should().Equal(one, $"{threads} threads");

                // Tests in other collections share the worker pool; a call that finds it busy runs on its own thread (same
                // bits), so a few more calls give this one the pool before the check that it really ran on several.
                for (int attempt = 0; attempt < 20 && Environment.ProcessorCount > 1 && parallelRuns.Count == 0; attempt++)
                {
                    run(x).Should().Equal(one, $"{threads} threads");
                }

                if (Environment.ProcessorCount > 1)
                {
                    parallelRuns.Count.Should().BeGreaterThan(0, "the call must really have run on several threads");
                }
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }
    [Fact]
    public async System.Threading.Tasks.Task BusyPool_FallsBackToTheCallingThread_AndGivesTheSameBits()
    {
        // Regression: the fallback ran one worker against barriers sized for two, and spun forever.
        var lstm = new Lstm(32, 256, seed: 3);
        Tensor<float> x = T.Random(4, 1f, 5, 1, 32);
        int saved = Parallelism.NumThreads;
        try
        {
            Parallelism.NumThreads = 1;
            float[] expected = T.Values(lstm.Forward(x).Output);
            Parallelism.NumThreads = 2;
            lstm.Forward(x); // sizes the workspace's barriers for two workers

            using var holding = new System.Threading.ManualResetEventSlim();
            using var release = new System.Threading.ManualResetEventSlim();
            var hold = new HoldJob(holding, release);
            var holder = System.Threading.Tasks.Task.Run(() => Recurrent.Engine.WorkerPool.Shared.TryRun(hold, 2));
            holding.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
            var call = System.Threading.Tasks.Task.Run(() => T.Values(lstm.Forward(x).Output));
            bool finished = await System.Threading.Tasks.Task.WhenAny(call, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(20))) == call;
            release.Set();
            (await holder).Should().BeTrue("the holding job ran on the pool");
            finished.Should().BeTrue("a forward must not wait on a busy pool");
            (await call).Should().Equal(expected);
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    private sealed class HoldJob(System.Threading.ManualResetEventSlim holding, System.Threading.ManualResetEventSlim release) : Recurrent.Engine.IParallelJob
    {
        public void Execute(int worker, int workers)
        {
            if (worker == 0)
            {
                holding.Set();
                release.Wait();
            }
        }
    }
}


/// <summary>Tests that change <see cref="Parallelism.NumThreads"/> or need the worker pool free run alone.</summary>
[CollectionDefinition(nameof(ThreadSettings), DisableParallelization = true)]
public sealed class ThreadSettings
{
}

/// <summary>Counts the library's "ParallelRun" events (source "Recurrent") while it lives.</summary>
internal sealed class ParallelRunListener : System.Diagnostics.Tracing.EventListener
{
    private int _count;

    public int Count => System.Threading.Volatile.Read(ref _count);

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
    {
        if (eventSource.Name == "Recurrent")
        {
            EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
    {
        if (eventData.EventName == "ParallelRun")
        {
            System.Threading.Interlocked.Increment(ref _count);
        }
    }
}
