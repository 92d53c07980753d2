using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FluentAssertions;
using Recurrent.Streaming;
using Recurrent.Tests.Properties;
using Xunit;

namespace Recurrent.Tests.Streaming;

/// <summary>
/// The stream host against the layer's own Forward: every stream, whatever it shared a step with, must give the bits of
/// its whole input run alone; and every way a chunk can go wrong leaves the stream's state and the other streams alone.
/// </summary>
[Collection(nameof(ThreadSettings))]
public sealed class StreamHostTests
{
    public static TheoryData<string, int> Models => new()
    {
        { "lstm", 1 }, { "lstm", 2 }, { "lstm-proj", 2 }, { "gru", 1 }, { "gru", 2 }, { "rnn-tanh", 2 }, { "rnn-relu", 1 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task RandomArrivals_EveryStreamEqualsItsWholeInputRunAlone(string kind, int threads)
    {
        int saved = Parallelism.NumThreads;
        Parallelism.NumThreads = threads;
        try
        {
            RnnBase model = Make(kind, layers: 2, seed: 3);
            model.Eval();
            for (int seed = 0; seed < 4; seed++)
            {
                var random = new Random((seed * 31) + kind.Length);
                int count = random.Next(6, 20);
                float[][] inputs = Enumerable.Range(0, count).Select(_ => RandomInput(random, random.Next(1, 40), model.InputSize)).ToArray();
                float[][]? initial = seed % 2 == 1 ? inputs.Select(_ => RandomState(random, model)).ToArray() : null;
                int[][] cuts = inputs.Select(x => Cuts(random, x.Length / model.InputSize)).ToArray();

                using var host = new StreamHost(model, new StreamHostOptions { MaxBatchRows = random.Next(2, 12), MaxChunkSteps = 16 });
                var results = new (float[] Output, float[] State)[count];

                // Every stream is a client of its own: submits its chunks in order, pausing at random, all at once. The
                // first chunks are held until all are queued, so at least the first step mixes streams and lengths.
                host.Hold(true);
                Task clients = Task.WhenAll(Enumerable.Range(0, count).Select(s => Task.Run(async () =>
                {
                    var own = new Random(s + (100 * seed));
                    using StreamSession stream = initial is null ? host.Open() : host.Open(initial[s]);
                    var output = new List<float>();
                    int start = 0;
                    foreach (int steps in cuts[s])
                    {
                        if (own.Next(3) == 0)
                        {
                            await Task.Delay(own.Next(0, 2));
                        }

                        output.AddRange(await stream.SubmitAsync(inputs[s].AsMemory(start * model.InputSize, steps * model.InputSize)));
                        start += steps;
                    }

                    results[s] = (output.ToArray(), stream.ExportState());
                })));
                SpinWait.SpinUntil(() => host.Statistics.PendingChunks == count, TimeSpan.FromSeconds(30)).Should().BeTrue();
                host.Hold(false);
                await clients;

                for (int s = 0; s < count; s++)
                {
                    (float[] expected, float[] expectedState) = RunAlone(model, inputs[s], initial?[s]);
                    Bits(results[s].Output).Should().Equal(Bits(expected), $"{kind} stream {s} of {count}, seed {seed}: outputs");
                    Bits(results[s].State).Should().Equal(Bits(expectedState), $"{kind} stream {s} of {count}, seed {seed}: final state");
                }

                host.Statistics.Chunks.Should().Be(cuts.Sum(c => c.Length));
                host.Statistics.MaxRows.Should().Be(Math.Min(count, host.Options.MaxBatchRows), "the held first chunks ran together");
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    [Fact]
    public async Task Chaos_CancelsClosesAndRefusals_NeverMixStreams_OrHang()
    {
        // 48 clients at once on a small queue: each submits its chunks, and at random cancels one after 0-1 ms, submits
        // a bad chunk, or closes its stream part-way. Whatever happens, a stream's outputs and state are those of the
        // chunks that ran, in order, and nothing but the documented exceptions comes out.
        Lstm model = new Lstm(3, 12, numLayers: 2, seed: 13).Eval();
        using var host = new StreamHost(model, new StreamHostOptions { MaxPendingChunks = 8, MaxBatchRows = 16, MaxChunkSteps = 6 });
        int failures = 0;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Task.WhenAll(Enumerable.Range(0, 48).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            StreamSession stream = host.Open();
            var ran = new List<float>();
            var outputs = new List<float>();
            bool closed = false;
            for (int c = 0; c < 12 && !closed; c++)
            {
                float[] chunk = RandomInput(random, random.Next(1, 7), 3);
                switch (random.Next(8))
                {
                    case 0:
                        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(0, 2))))
                        {
                            try
                            {
                                outputs.AddRange(await stream.SubmitAsync(chunk, cts.Token));
                                ran.AddRange(chunk);
                            }
                            catch (OperationCanceledException)
                            {
                            }
                        }

                        break;
                    case 1:
                        chunk[random.Next(chunk.Length)] = float.NaN;
                        stream.Invoking(s => s.SubmitAsync(chunk)).Should().Throw<ArgumentException>();
                        break;
                    case 2 when c > 6:
                        stream.Dispose();
                        closed = true;
                        break;
                    default:
                        outputs.AddRange(await stream.SubmitAsync(chunk, bound.Token));
                        ran.AddRange(chunk);
                        break;
                }
            }

            if (!closed)
            {
                (float[] expected, float[] state) = RunAlone(model, [.. ran], null);
                if (!Bits([.. outputs]).SequenceEqual(Bits(expected)) || !Bits(stream.ExportState()).SequenceEqual(Bits(state)))
                {
                    Interlocked.Increment(ref failures);
                }

                stream.Dispose();
            }
        })));

        failures.Should().Be(0, "every stream equals the chunks that ran, alone");
        host.Statistics.OpenStreams.Should().Be(0);
        host.Statistics.PendingChunks.Should().Be(0);
    }

    [Fact]
    public async Task HeldChunks_RunAsOneStep_OfDifferentLengths()
    {
        Lstm model = new(5, 12, numLayers: 2, projSize: 7, seed: 1);
        model.Eval();
        using var host = new StreamHost(model);
        var random = new Random(5);
        float[][] inputs = [.. Enumerable.Range(0, 9).Select(i => RandomInput(random, 1 + (i % 4), 5))];
        StreamSession[] streams = [.. inputs.Select(_ => host.Open())];

        host.Hold(true);
        ValueTask<float[]>[] pending = [.. streams.Select((s, i) => s.SubmitAsync(inputs[i]))];
        await Task.Delay(20);
        pending.Should().OnlyContain(p => !p.IsCompleted, "the host is held");
        host.Statistics.PendingChunks.Should().Be(9);
        host.Hold(false);

        for (int i = 0; i < streams.Length; i++)
        {
            float[] output = await pending[i];
            Bits(output).Should().Equal(Bits(RunAlone(model, inputs[i], null).Output), $"stream {i}");
        }

        host.Statistics.Steps.Should().Be(1, "nine held chunks of lengths 1 to 4 run as one packed step");
        host.Statistics.MaxRows.Should().Be(9);
    }

    [Fact]
    public async Task SteadyState_StepsAllocateNothing()
    {
        Lstm model = new(16, 32, seed: 2);
        model.Eval();
        using var host = new StreamHost(model);
        float[] chunk = RandomInput(new Random(1), 4, 16);
        StreamSession[] streams = [.. Enumerable.Range(0, 8).Select(_ => host.Open())];
        float[][] outputs = [.. streams.Select(_ => new float[4 * 32])];

        async Task Round()
        {
            host.Hold(true);
            ValueTask<int>[] pending = [.. streams.Select((s, i) => s.SubmitAsync(chunk, outputs[i]))];
            host.Hold(false);
            foreach (ValueTask<int> p in pending)
            {
                (await p).Should().Be(4);
            }
        }

        await Round();
        long warm = host.Statistics.AllocatedBytes;
        for (int i = 0; i < 50; i++)
        {
            await Round();
        }

        host.Statistics.Steps.Should().BeGreaterThanOrEqualTo(51);
        (host.Statistics.AllocatedBytes - warm).Should().Be(0, "the host's steps reuse their buffers once warm");
    }

    [Fact]
    public async Task CancelledWhileQueued_StateUnchanged_AndTheStreamGoesOn()
    {
        Gru model = new(3, 8, seed: 4);
        model.Eval();
        using var host = new StreamHost(model);
        var random = new Random(2);
        float[] first = RandomInput(random, 3, 3), dropped = RandomInput(random, 2, 3), second = RandomInput(random, 4, 3);
        using StreamSession stream = host.Open();
        using StreamSession other = host.Open();
        float[] out1 = await stream.SubmitAsync(first);
        float[] before = stream.ExportState();

        host.Hold(true);
        using var cts = new CancellationTokenSource();
        ValueTask<float[]> cancelled = stream.SubmitAsync(dropped, cts.Token);
        ValueTask<float[]> neighbour = other.SubmitAsync(second);
        await cts.CancelAsync();
        Func<Task> wait = async () => await cancelled;
        await wait.Should().ThrowAsync<OperationCanceledException>();
        stream.ExportState().Should().Equal(before, "a cancelled chunk never ran");
        host.Hold(false);

        float[] out2 = await stream.SubmitAsync(second);
        Bits([.. out1, .. out2]).Should().Equal(Bits(RunAlone(model, [.. first, .. second], null).Output));
        Bits(await neighbour).Should().Equal(Bits(RunAlone(model, second, null).Output), "the other stream is untouched");
    }

    [Fact]
    public async Task FullQueue_WaitsForRoom_AndTheWaitCanBeCancelled()
    {
        Rnn model = new(2, 4, seed: 5);
        model.Eval();
        using var host = new StreamHost(model, new StreamHostOptions { MaxPendingChunks = 2 });
        StreamSession[] streams = [.. Enumerable.Range(0, 4).Select(_ => host.Open())];
        float[] chunk = [0.5f, -0.25f];

        host.Hold(true);
        ValueTask<float[]> a = streams[0].SubmitAsync(chunk), b = streams[1].SubmitAsync(chunk);
        using var cts = new CancellationTokenSource();
        ValueTask<float[]> waiting = streams[2].SubmitAsync(chunk, cts.Token);
        ValueTask<float[]> later = streams[3].SubmitAsync(chunk);
        await Task.Delay(20);
        waiting.IsCompleted.Should().BeFalse("two chunks fill the queue: the third waits for room");
        host.Statistics.PendingChunks.Should().Be(2);
        await cts.CancelAsync();
        Func<Task> wait = async () => await waiting;
        await wait.Should().ThrowAsync<OperationCanceledException>();
        host.Hold(false);

        float[] expected = RunAlone(model, chunk, null).Output;
        foreach (ValueTask<float[]> done in new[] { a, b, later })
        {
            Bits(await done).Should().Equal(Bits(expected));
        }

        streams[2].StepsRun.Should().Be(0);
        Bits(await streams[2].SubmitAsync(chunk)).Should().Equal(Bits(expected), "the cancelled wait left the stream usable");
    }

    [Fact]
    public async Task ClosedWithAChunkQueued_FailsThatChunk_OthersRun()
    {
        Lstm model = new(3, 5, seed: 6);
        model.Eval();
        using var host = new StreamHost(model);
        StreamSession closing = host.Open(), staying = host.Open();
        float[] chunk = RandomInput(new Random(3), 2, 3);

        host.Hold(true);
        ValueTask<float[]> lost = closing.SubmitAsync(chunk), kept = staying.SubmitAsync(chunk);
        closing.Dispose();
        host.Hold(false);

        Func<Task> wait = async () => await lost;
        await wait.Should().ThrowAsync<ObjectDisposedException>();
        Bits(await kept).Should().Equal(Bits(RunAlone(model, chunk, null).Output));
        Func<Task> again = async () => await closing.SubmitAsync(chunk);
        await again.Should().ThrowAsync<ObjectDisposedException>();
        host.Statistics.OpenStreams.Should().Be(1);
        staying.Dispose();
        host.Statistics.OpenStreams.Should().Be(0);
    }

    [Fact]
    public async Task DisposedHost_FailsQueuedChunks_AndRefusesMore()
    {
        Gru model = new(2, 3, seed: 7);
        model.Eval();
        var host = new StreamHost(model);
        StreamSession stream = host.Open();
        host.Hold(true);
        ValueTask<float[]> queued = stream.SubmitAsync(new float[] { 1f, 2f });
        host.Dispose();

        Func<Task> wait = async () => await queued;
        await wait.Should().ThrowAsync<ObjectDisposedException>();
        stream.IsClosed.Should().BeTrue();
        host.Invoking(h => h.Open()).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task Snapshot_MovesAStreamToAnotherHost()
    {
        Lstm model = new(4, 9, numLayers: 2, projSize: 3, seed: 8);
        model.Eval();
        var random = new Random(9);
        float[] head = RandomInput(random, 5, 4), tail = RandomInput(random, 7, 4);
        float[] snapshot, out1;
        using (var first = new StreamHost(model))
        {
            using StreamSession stream = first.Open();
            out1 = await stream.SubmitAsync(head);
            snapshot = stream.ExportState();
        }

        snapshot.Length.Should().Be(2 * (3 + 9), "num_layers * (H_out + hidden_size)");
        using var second = new StreamHost(model);
        using StreamSession moved = second.Open(snapshot);
        float[] out2 = await moved.SubmitAsync(tail);
        (float[] expected, float[] expectedState) = RunAlone(model, [.. head, .. tail], null);
        Bits([.. out1, .. out2]).Should().Equal(Bits(expected));
        Bits(moved.ExportState()).Should().Equal(Bits(expectedState));
    }

    [Fact]
    public async Task BadChunks_AreRefusedWithTheReason_AndChangeNothing()
    {
        Lstm model = new(3, 4, seed: 10);
        model.Eval();
        using var host = new StreamHost(model, new StreamHostOptions { MaxChunkSteps = 4 });
        using StreamSession stream = host.Open();
        float[] state = stream.ExportState();

        stream.Invoking(s => s.SubmitAsync(new float[4])).Should().Throw<ArgumentException>()
            .WithMessage("a chunk is (steps, input_size) with input_size 3 and at least one step, but got 4 floats*");
        stream.Invoking(s => s.SubmitAsync(ReadOnlyMemory<float>.Empty)).Should().Throw<ArgumentException>();
        stream.Invoking(s => s.SubmitAsync(new float[] { 1, 2, 3, 4, float.NaN, 6 })).Should().Throw<ArgumentException>()
            .WithMessage("a chunk must be finite, but step 1, feature 1 is NaN; the stream's state is unchanged*");
        stream.Invoking(s => s.SubmitAsync(new float[] { 1, float.PositiveInfinity, 3 })).Should().Throw<ArgumentException>();
        stream.Invoking(s => s.SubmitAsync(new float[15])).Should().Throw<ArgumentException>()
            .WithMessage("a chunk holds at most MaxChunkSteps = 4 steps, but got 5*");
        stream.Invoking(s => s.SubmitAsync(new float[6], new float[7])).Should().Throw<ArgumentException>()
            .WithMessage("output must hold steps * H_out = 2 * 4 = 8 floats, but got 7*");
        stream.ExportState().Should().Equal(state);
        stream.StepsRun.Should().Be(0);

        host.Hold(true);
        ValueTask<float[]> first = stream.SubmitAsync(new float[3]);
        stream.Invoking(s => s.SubmitAsync(new float[3])).Should().Throw<InvalidOperationException>()
            .WithMessage("stream 1 is still running a chunk*");
        stream.Invoking(s => s.ExportState()).Should().Throw<InvalidOperationException>();
        host.Hold(false);
        (await first).Should().HaveCount(4);

        host.Invoking(h => h.Open(new float[3])).Should().Throw<ArgumentException>()
            .WithMessage("a state of this host is num_layers * (H_out + hidden_size) = 8 floats, but got 3*");
        host.Invoking(h => h.Open(new float[] { 0, 0, 0, float.NaN, 0, 0, 0, 0 })).Should().Throw<ArgumentException>()
            .WithMessage("a state must be finite, but element 3 is NaN*");
    }

    [Fact]
    public void Construction_RefusesBidirectionalModels_AndBadOptions()
    {
        Action bidirectional = () => _ = new StreamHost(new Gru(2, 3, bidirectional: true, seed: 1));
        bidirectional.Should().Throw<ArgumentException>().WithMessage("a stream runs forwards only, but the model is bidirectional: GRU(2, 3, bidirectional=True)*");
        Action zero = () => _ = new StreamHost(new Gru(2, 3, seed: 1), new StreamHostOptions { MaxBatchRows = 0 });
        zero.Should().Throw<ArgumentOutOfRangeException>().WithMessage("MaxBatchRows must be greater than zero*");
    }

    [Fact]
    public async Task TrainingModeWithDropout_FailsTheChunk_StateUnchanged()
    {
        Lstm model = new(2, 3, numLayers: 2, dropout: 0.5f, seed: 11);
        using var host = new StreamHost(model);
        using StreamSession stream = host.Open();
        Func<Task> run = async () => await stream.SubmitAsync(new float[] { 1f, -1f });
        (await run.Should().ThrowAsync<InvalidOperationException>()).WithMessage("the model is in training mode with dropout*call Eval()*");
        stream.ExportState().Should().OnlyContain(v => v == 0f);
        model.Eval();
        (await stream.SubmitAsync(new float[] { 1f, -1f })).Should().HaveCount(3);
    }

    [Fact]
    public void ABurstOfOpens_IsBoundedAndFullyReleased()
    {
        Gru model = new(2, 3, seed: 12);
        using var host = new StreamHost(model, new StreamHostOptions { MaxOpenStreams = 10_000 });
        StreamSession[] streams = [.. Enumerable.Range(0, 10_000).Select(_ => host.Open())];
        host.Statistics.OpenStreams.Should().Be(10_000);
        host.Invoking(h => h.Open()).Should().Throw<InvalidOperationException>().WithMessage("the host has MaxOpenStreams = 10000 streams open; close one first");
        foreach (StreamSession s in streams)
        {
            s.Dispose();
        }

        host.Statistics.OpenStreams.Should().Be(0);
        host.Open().Id.Should().Be(10_001);
    }

    private static RnnBase Make(string kind, int layers, int seed) => kind switch
    {
        "lstm" => new Lstm(5, 16, numLayers: layers, seed: seed),
        "lstm-proj" => new Lstm(5, 16, numLayers: layers, projSize: 6, seed: seed),
        "gru" => new Gru(5, 16, numLayers: layers, seed: seed),
        "rnn-tanh" => new Rnn(5, 16, numLayers: layers, seed: seed),
        _ => new Rnn(5, 16, numLayers: layers, nonlinearity: Nonlinearity.Relu, seed: seed),
    };

    /// <summary>The stream's whole input through the layer's own span Forward, batch 1: what the host must reproduce.</summary>
    private static (float[] Output, float[] State) RunAlone(RnnBase model, float[] input, float[]? state)
    {
        int steps = input.Length / model.InputSize, hOut = model.Spec.OutputSize, layers = model.NumLayers;
        bool lstm = model is Lstm;
        int cell = lstm ? model.HiddenSize : 0;
        float[] output = new float[steps * hOut], hN = new float[layers * hOut], cN = new float[layers * cell];
        ReadOnlySpan<float> h0 = state is null ? [] : state.AsSpan(0, layers * hOut), c0 = state is null ? [] : state.AsSpan(layers * hOut);
        var shape = new SequenceShape(steps, 1, model.InputSize);
        switch (model)
        {
            case Lstm m:
                m.Forward(input, shape, h0, c0, output, hN, cN);
                break;
            case Gru m:
                m.Forward(input, shape, h0, output, hN);
                break;
            case Rnn m:
                m.Forward(input, shape, h0, output, hN);
                break;
        }

        return (output, [.. hN, .. cN]);
    }

    private static float[] RandomInput(Random random, int steps, int features) =>
        [.. Enumerable.Range(0, steps * features).Select(_ => (float)((random.NextDouble() * 4) - 2))];

    private static float[] RandomState(Random random, RnnBase model) =>
        [.. Enumerable.Range(0, model.NumLayers * (model.Spec.OutputSize + (model is Lstm ? model.HiddenSize : 0))).Select(_ => (float)(random.NextDouble() - 0.5))];

    /// <summary>A random split of <paramref name="steps"/> into chunks of 1 to 8 steps.</summary>
    private static int[] Cuts(Random random, int steps)
    {
        var cuts = new List<int>();
        while (steps > 0)
        {
            int c = Math.Min(steps, random.Next(1, 9));
            cuts.Add(c);
            steps -= c;
        }

        return [.. cuts];
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
