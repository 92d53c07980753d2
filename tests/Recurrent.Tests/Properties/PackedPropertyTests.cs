using System;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>
/// A packed batch is many sequences run at once: each sequence's output and final state must equal running it alone,
/// bit for bit (every element is one FMA chain whatever the batch), at every thread count.
/// </summary>
[Collection(nameof(ThreadSettings))]
public sealed class PackedPropertyTests
{
    public static TheoryData<string> Configs => new()
    {
        "lstm 1 uni", "lstm 2 bi proj", "gru 2 bi", "rnn 3 uni", "gru 1 uni wide", "lstm 2 uni wide", "rnn 2 bi wide",
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void EachSequence_EqualsRunningItAlone_AtEveryThreadCount(string config)
    {
        string[] words = config.Split(' ');
        int layers = int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture);
        bool bi = words[2] == "bi";
        // "wide": 40 sequences of hidden 64, so two threads split the batch by rows; otherwise by hidden units.
        bool wide = config.EndsWith("wide", StringComparison.Ordinal);
        int batch = wide ? 40 : 7, input = 12, hidden = wide ? 64 : 48, seqLen = 23;
        RnnBase module = words[0] switch
        {
            "lstm" => new Lstm(input, hidden, layers, bidirectional: bi, projSize: config.Contains("proj", StringComparison.Ordinal) ? 20 : 0, seed: 3),
            "gru" => new Gru(input, hidden, layers, bidirectional: bi, seed: 3),
            _ => new Rnn(input, hidden, layers, bidirectional: bi, seed: 3),
        };
        int hOut = module is Lstm { ProjSize: > 0 } l ? l.ProjSize : hidden;
        int d = bi ? 2 : 1, states = d * layers;
        var random = new Random(11);
        int[] lengths = Enumerable.Range(0, batch).Select(_ => random.Next(1, seqLen + 1)).ToArray();
        lengths[batch / 2] = seqLen;
        Tensor<float> padded = T.Random(5, 1f, seqLen, batch, input);
        Tensor<float> h0 = T.Random(6, 1f, states, batch, hOut);
        Tensor<float> c0 = T.Random(7, 1f, states, batch, hidden);
        PackedSequence packed = RnnUtils.PackPaddedSequence(padded, lengths, enforceSorted: false);

        int saved = Parallelism.NumThreads;
        try
        {
            float[]? first = null;
            for (int threads = 1; threads <= Math.Max(2, Environment.ProcessorCount); threads++)
            {
                Parallelism.NumThreads = threads;
                (PackedSequence output, Tensor<float> hN, Tensor<float>? cN) = Run(module, packed, h0, c0);
                (Tensor<float> outPadded, int[] outLengths) = RnnUtils.PadPackedSequence(output, paddingValue: float.NaN);
                outLengths.Should().Equal(lengths);
                float[] all = [.. T.Values(output.Data), .. T.Values(hN), .. (cN is null ? [] : T.Values(cN))];
                first ??= all;
                all.Should().Equal(first, $"{threads} threads give the bits of one");
                if (threads > 1)
                {
                    continue;
                }

                for (int b = 0; b < batch; b++)
                {
                    // The sequence alone, as a batch of one, its own states.
                    Tensor<float> x = Slice(padded, b, lengths[b], input);
                    (Tensor<float> aloneOut, Tensor<float> aloneH, Tensor<float>? aloneC) = RunPadded(module, x, Row(h0, b), Row(c0, b));
                    T.Values(Slice(outPadded, b, lengths[b], d * hOut)).Should().Equal(T.Values(aloneOut), $"sequence {b} (length {lengths[b]}) output");
                    T.Values(Row(hN, b)).Should().Equal(T.Values(aloneH), $"sequence {b} h_n");
                    if (cN is not null)
                    {
                        T.Values(Row(cN, b)).Should().Equal(T.Values(aloneC!), $"sequence {b} c_n");
                    }

                    // Padding past each sequence's end is the padding value, in both directions' halves.
                    float[] rest = T.Values(outPadded).Where((_, i) => (i / (d * hOut) % batch) == b && i / (d * hOut) / batch >= lengths[b]).ToArray();
                    rest.Should().HaveCount((seqLen - lengths[b]) * d * hOut);
                    rest.All(float.IsNaN).Should().BeTrue("padding holds the padding value");
                }
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EqualLengths_EqualThePaddedCall(bool batchFirst)
    {
        var lstm = new Lstm(6, 20, 2, batchFirst: batchFirst, bidirectional: true, projSize: 8, seed: 4);
        Tensor<float> x = batchFirst ? T.Random(1, 1f, 5, 9, 6) : T.Random(1, 1f, 9, 5, 6);
        Tensor<float> h0 = T.Random(2, 1f, 4, 5, 8), c0 = T.Random(3, 1f, 4, 5, 20);
        (Tensor<float> output, Tensor<float> hN, Tensor<float> cN) = lstm.Forward(x, h0, c0);
        (PackedSequence packedOut, Tensor<float> packedH, Tensor<float> packedC) =
            lstm.Forward(RnnUtils.PackPaddedSequence(x, [9, 9, 9, 9, 9], batchFirst), h0, c0);
        T.Values(RnnUtils.PadPackedSequence(packedOut, batchFirst).Padded).Should().Equal(T.Values(output));
        T.Values(packedH).Should().Equal(T.Values(hN));
        T.Values(packedC).Should().Equal(T.Values(cN));
    }

    [Fact]
    public void SpanOverload_EqualsTensorOverload_AndAllocatesNothing()
    {
        var gru = new Gru(10, 64, 2, bidirectional: true, seed: 8);
        int[] lengths = [3, 9, 1, 9, 6, 2, 8, 4, 7, 5, 9, 2, 3, 1, 6, 4, 8, 9, 2, 5];
        PackedSequence packed = RnnUtils.PackPaddedSequence(T.Random(9, 1f, 9, lengths.Length, 10), lengths, enforceSorted: false);
        Tensor<float> h0 = T.Random(10, 1f, 4, lengths.Length, 64);
        (PackedSequence expected, Tensor<float> expectedH) = gru.Forward(packed, h0);

        float[] data = T.Values(packed.Data), h = T.Values(h0);
        int[] batchSizes = packed.BatchSizes.ToArray(), sorted = packed.SortedIndices.ToArray();
        float[] output = new float[expected.Data.FlattenedLength], hN = new float[h.Length];
        var workspace = new RecurrentWorkspace();
        gru.Forward(data, batchSizes, sorted, h, output, hN, workspace);
        output.Should().Equal(T.Values(expected.Data));
        hN.Should().Equal(T.Values(expectedH));

        // Streaming in place: h0 and h_n in the same memory.
        gru.Forward(data, batchSizes, sorted, h, output, h, workspace);
        h.Should().Equal(T.Values(expectedH));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++)
        {
            gru.Forward(data, batchSizes, sorted, hN, output, hN, workspace);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0, "steady-state packed calls allocate nothing");
    }

    [Fact]
    public void TrainingDropout_RunsOnPackedData_AndEvalIsDeterministic()
    {
        var lstm = new Lstm(4, 16, 3, dropout: 0.5f, seed: 2);
        PackedSequence packed = RnnUtils.PackSequence([T.Random(1, 1f, 6, 4), T.Random(2, 1f, 3, 4)]);
        lstm.Train();
        float[] a = T.Values(lstm.Forward(packed).Output.Data), b = T.Values(lstm.Forward(packed).Output.Data);
        a.Should().NotEqual(b, "each training call draws a new mask");
        lstm.Eval();
        T.Values(lstm.Forward(packed).Output.Data).Should().Equal(T.Values(lstm.Forward(packed).Output.Data));
    }

    private static (PackedSequence Output, Tensor<float> HN, Tensor<float>? CN) Run(RnnBase module, PackedSequence packed, Tensor<float> h0, Tensor<float> c0) => module switch
    {
        Lstm lstm => lstm.Forward(packed, h0, c0) is var (o, h, c) ? (o, h, c) : default,
        Gru gru => gru.Forward(packed, h0) is var (o, h) ? (o, h, null) : default,
        Rnn rnn => rnn.Forward(packed, h0) is var (o, h) ? (o, h, null) : default,
        _ => throw new ArgumentOutOfRangeException(nameof(module)),
    };

    private static (Tensor<float> Output, Tensor<float> HN, Tensor<float>? CN) RunPadded(RnnBase module, Tensor<float> x, Tensor<float> h0, Tensor<float> c0) => module switch
    {
        Lstm lstm => lstm.Forward(x, h0, c0) is var (o, h, c) ? (o, h, c) : default,
        Gru gru => gru.Forward(x, h0) is var (o, h) ? (o, h, null) : default,
        Rnn rnn => rnn.Forward(x, h0) is var (o, h) ? (o, h, null) : default,
        _ => throw new ArgumentOutOfRangeException(nameof(module)),
    };

    /// <summary>Sequence b's first <paramref name="length"/> steps of a time-major <c>(T, B, width)</c> tensor, as <c>(length, 1, width)</c>.</summary>
    private static Tensor<float> Slice(Tensor<float> padded, int b, int length, int width)
    {
        float[] all = T.Values(padded);
        int batch = (int)padded.Lengths[1];
        var values = new float[length * width];
        for (int t = 0; t < length; t++)
        {
            Array.Copy(all, ((t * batch) + b) * width, values, t * width, width);
        }

        return Tensor.Create(values, [length, 1, width]);
    }

    /// <summary>Batch row b of a state <c>(S, B, width)</c>, as <c>(S, 1, width)</c>.</summary>
    private static Tensor<float> Row(Tensor<float> state, int b)
    {
        float[] all = T.Values(state);
        int states = (int)state.Lengths[0], batch = (int)state.Lengths[1], width = (int)state.Lengths[2];
        var values = new float[states * width];
        for (int s = 0; s < states; s++)
        {
            Array.Copy(all, ((s * batch) + b) * width, values, s * width, width);
        }

        return Tensor.Create(values, [states, 1, width]);
    }
}
