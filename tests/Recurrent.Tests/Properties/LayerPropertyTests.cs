using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>Relations that must hold exactly (bit for bit), whatever the weights.</summary>
public sealed class LayerPropertyTests
{
    [Fact]
    public void BatchRow_EqualsThatSequenceAlone()
    {
        var lstm = new Lstm(5, 7, numLayers: 2, bidirectional: true, projSize: 3, seed: 1);
        const int seq = 6, batch = 4;
        float[] x = T.Values(T.Random(2, 1f, seq, batch, 5));
        float[] h0 = T.Values(T.Random(3, 1f, 4, batch, 3));
        float[] c0 = T.Values(T.Random(4, 1f, 4, batch, 7));
        (Tensor<float> output, Tensor<float> hN, Tensor<float> cN) = lstm.Forward(
            Tensor.Create(x, [seq, batch, 5]), Tensor.Create(h0, [4, batch, 3]), Tensor.Create(c0, [4, batch, 7]));

        for (int b = 0; b < batch; b++)
        {
            LstmOutput alone = lstm.Forward(
                Tensor.Create(Row(x, seq, batch, 5, b), [seq, 1, 5]),
                Tensor.Create(Row(h0, 4, batch, 3, b), [4, 1, 3]),
                Tensor.Create(Row(c0, 4, batch, 7, b), [4, 1, 7]));
            T.Values(alone.Output).Should().Equal(Row(T.Values(output), seq, batch, 6, b));
            T.Values(alone.HN).Should().Equal(Row(T.Values(hN), 4, batch, 3, b));
            T.Values(alone.CN).Should().Equal(Row(T.Values(cN), 4, batch, 7, b));
        }
    }

    [Theory]
    [InlineData(6, 80)]
    [InlineData(9, 200)]
    public void BatchRow_InTheKBlockedStep_EqualsThatSequenceAlone(int batch, int hidden)
    {
        // batch > 4 and K above the K-block take the blocked path; a single row never does.
        var gru = new Gru(3, hidden, seed: 2);
        const int seq = 3;
        float[] x = T.Values(T.Random(5, 1f, seq, batch, 3));
        float[] output = T.Values(gru.Forward(Tensor.Create(x, [seq, batch, 3])).Output);
        for (int b = 0; b < batch; b++)
        {
            T.Values(gru.Forward(Tensor.Create(Row(x, seq, batch, 3, b), [seq, 1, 3])).Output).Should().Equal(Row(output, seq, batch, hidden, b), $"row {b}");
        }
    }

    [Fact]
    public void ReverseDirection_EqualsForwardOnReversedSequence()
    {
        var bi = new Gru(4, 6, bidirectional: true, seed: 3);
        var uni = new Gru(4, 6, seed: 4);
        var reverseWeights = bi.StateDict()
            .Where(p => p.Key.EndsWith("_reverse", StringComparison.Ordinal))
            .ToDictionary(p => p.Key[..^"_reverse".Length], p => p.Value);
        uni.LoadStateDict(reverseWeights);

        const int seq = 5, batch = 2;
        float[] x = T.Values(T.Random(5, 1f, seq, batch, 4));
        float[] reversed = new float[x.Length];
        for (int t = 0; t < seq; t++)
        {
            Array.Copy(x, t * batch * 4, reversed, (seq - 1 - t) * batch * 4, batch * 4);
        }

        float[] biOut = T.Values(bi.Forward(Tensor.Create(x, [seq, batch, 4])).Output);
        float[] uniOut = T.Values(uni.Forward(Tensor.Create(reversed, [seq, batch, 4])).Output);
        for (int t = 0; t < seq; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                biOut.AsSpan((((t * batch) + b) * 12) + 6, 6).ToArray()
                    .Should().Equal(uniOut.AsSpan((((seq - 1 - t) * batch) + b) * 6, 6).ToArray());
            }
        }
    }

    [Fact]
    public void Cell_EqualsOneStepLayer()
    {
        var layer = new Lstm(4, 5, seed: 5);
        var cell = new LstmCell(4, 5, seed: 6);
        cell.LoadStateDict(layer.StateDict().ToDictionary(p => p.Key[..^"_l0".Length], p => p.Value));
        Tensor<float> x = T.Random(7, 2f, 3, 4);
        Tensor<float> h = T.Random(8, 1f, 3, 5);
        Tensor<float> c = T.Random(9, 1f, 3, 5);

        (Tensor<float> h1, Tensor<float> c1) = cell.Forward(x, h, c);
        LstmOutput step = layer.Forward(Tensor.Reshape(x, [1, 3, 4]), Tensor.Reshape(h, [1, 3, 5]), Tensor.Reshape(c, [1, 3, 5]));

        T.Values(h1).Should().Equal(T.Values(step.HN));
        T.Values(c1).Should().Equal(T.Values(step.CN));
    }

    [Fact]
    public void CellStep_BatchOfOne_EqualsThatRowInABatch()
    {
        // Batch 1 takes the two-panels-at-once kernels (LSTM 40 units = 3 panels, GRU 130 = 3 panels: a pair and one).
        var lstm = new LstmCell(24, 40, seed: 3);
        var gru = new GruCell(24, 130, seed: 4);
        float[] x = T.Values(T.Random(5, 1f, 3, 24));
        float[] h = T.Values(T.Random(6, 1f, 3, 130));
        float[] c = T.Values(T.Random(7, 1f, 3, 40));
        (Tensor<float> lstmH, Tensor<float> lstmC) = lstm.Forward(Tensor.Create(x, [3, 24]), Tensor.Create(h[..120], [3, 40]), Tensor.Create(c, [3, 40]));
        Tensor<float> gruH = gru.Forward(Tensor.Create(x, [3, 24]), Tensor.Create(h, [3, 130]));
        for (int b = 0; b < 3; b++)
        {
            (Tensor<float> oneH, Tensor<float> oneC) = lstm.Forward(
                Tensor.Create(x.AsSpan(b * 24, 24).ToArray(), [24]), Tensor.Create(h.AsSpan(b * 40, 40).ToArray(), [40]), Tensor.Create(c.AsSpan(b * 40, 40).ToArray(), [40]));
            T.Values(oneH).Should().Equal(T.Values(lstmH).AsSpan(b * 40, 40).ToArray(), $"LSTM h, row {b}");
            T.Values(oneC).Should().Equal(T.Values(lstmC).AsSpan(b * 40, 40).ToArray(), $"LSTM c, row {b}");
            T.Values(gru.Forward(Tensor.Create(x.AsSpan(b * 24, 24).ToArray(), [24]), Tensor.Create(h.AsSpan(b * 130, 130).ToArray(), [130])))
                .Should().Equal(T.Values(gruH).AsSpan(b * 130, 130).ToArray(), $"GRU h, row {b}");
        }
    }

    [Fact]
    public void WholeSequence_EqualsTwoChunksWithCarriedState()
    {
        var rnn = new Rnn(3, 4, numLayers: 3, nonlinearity: Nonlinearity.Relu, seed: 7);
        float[] x = T.Values(T.Random(10, 1f, 7, 2, 3));
        RnnOutput whole = rnn.Forward(Tensor.Create(x, [7, 2, 3]));
        RnnOutput first = rnn.Forward(Tensor.Create(x[..(4 * 2 * 3)], [4, 2, 3]));
        RnnOutput second = rnn.Forward(Tensor.Create(x[(4 * 2 * 3)..], [3, 2, 3]), first.HN);

        T.Values(whole.Output).Should().Equal(T.Values(first.Output).Concat(T.Values(second.Output)));
        T.Values(whole.HN).Should().Equal(T.Values(second.HN));
    }

    [Fact]
    public void Unbatched_EqualsBatchOfOne()
    {
        var lstm = new Lstm(3, 5, numLayers: 2, bidirectional: true, seed: 8);
        Tensor<float> x = T.Random(11, 1f, 6, 3);
        LstmOutput unbatched = lstm.Forward(x);
        LstmOutput batched = lstm.Forward(Tensor.Reshape(x, [6, 1, 3]));

        unbatched.Output.Lengths.ToArray().Should().Equal(6, 10);
        unbatched.HN.Lengths.ToArray().Should().Equal(4, 5);
        unbatched.CN.Lengths.ToArray().Should().Equal(4, 5);
        T.Values(unbatched.Output).Should().Equal(T.Values(batched.Output));
        T.Values(unbatched.HN).Should().Equal(T.Values(batched.HN));
    }

    [Fact]
    public void BatchFirst_EqualsTimeMajorTransposed_AndStatesAreNeverBatchFirst()
    {
        var timeMajor = new Gru(3, 4, numLayers: 2, seed: 9);
        var batchFirst = new Gru(3, 4, numLayers: 2, batchFirst: true, seed: 10);
        batchFirst.LoadStateDict(timeMajor.StateDict());
        const int seq = 5, batch = 3;
        float[] x = T.Values(T.Random(12, 1f, seq, batch, 3));

        RnnOutput a = timeMajor.Forward(Tensor.Create(x, [seq, batch, 3]));
        RnnOutput b = batchFirst.Forward(Tensor.Create(Transpose(x, seq, batch, 3), [batch, seq, 3]));

        b.Output.Lengths.ToArray().Should().Equal(batch, seq, 4);
        b.HN.Lengths.ToArray().Should().Equal(2, batch, 4);
        T.Values(b.Output).Should().Equal(Transpose(T.Values(a.Output), seq, batch, 4));
        T.Values(b.HN).Should().Equal(T.Values(a.HN));
    }

    [Fact]
    public void StridedInput_GivesTheSameResultAsDense()
    {
        var gru = new Gru(3, 4, seed: 11);
        const int seq = 4, batch = 2;
        float[] x = T.Values(T.Random(13, 1f, seq, batch, 3));
        float[] bt = Transpose(x, seq, batch, 3);

        // A (L, N, F) view over batch-major storage: not dense in row-major order.
        Tensor<float> view = Tensor.Create(bt, [seq, batch, 3], [3, seq * 3, 1]);
        view.IsDense.Should().BeFalse();

        T.Values(gru.Forward(view).Output).Should().Equal(T.Values(gru.Forward(Tensor.Create(x, [seq, batch, 3])).Output));
    }

    [Fact]
    public void ZeroBatch_GivesEmptyTensorsOfTheRightShape()
    {
        LstmOutput r = new Lstm(3, 4, numLayers: 2, bidirectional: true, projSize: 2).Forward(T.Zeros(5, 0, 3));
        r.Output.Lengths.ToArray().Should().Equal(5, 0, 4);
        r.HN.Lengths.ToArray().Should().Equal(4, 0, 2);
        r.CN.Lengths.ToArray().Should().Equal(4, 0, 4);
        new GruCell(3, 4).Forward(T.Zeros(0, 3)).Lengths.ToArray().Should().Equal(0, 4);
    }

    [Fact]
    public void Cell_HiddenSizeZero_GivesEmptyState() =>
        new GruCell(3, 0).Forward(T.Zeros(2, 3)).Lengths.ToArray().Should().Equal(2, 0);

    [Fact]
    public void NaNInput_PropagatesToItsOwnRowOnly()
    {
        var lstm = new Lstm(3, 4, seed: 12);
        float[] x = T.Values(T.Random(14, 1f, 4, 2, 3));
        x[(2 * 2 * 3) + 1] = float.NaN; // t = 2, batch row 0
        x[(1 * 2 * 3) + 3] = float.PositiveInfinity; // t = 1, batch row 1
        float[] output = T.Values(lstm.Forward(Tensor.Create(x, [4, 2, 3])).Output);

        for (int t = 0; t < 4; t++)
        {
            output.AsSpan(t * 8, 4).ToArray().Should().OnlyContain(v => float.IsNaN(v) == (t >= 2), $"row 0 at t={t}");
        }

        output.AsSpan(4, 4).ToArray().Should().OnlyContain(v => !float.IsNaN(v), "row 1 before the infinity");
    }

    [Fact]
    public void ConcurrentCalls_OnOneModule_EqualSequentialCalls()
    {
        // Large enough (4 panels, batch 3) that calls want the worker pool and contend for it.
        var lstm = new Lstm(8, 64, numLayers: 2, bidirectional: true, seed: 13).Eval();
        var inputs = Enumerable.Range(0, 16).Select(i => T.Random(100 + i, 1f, 10, 3, 8)).ToArray();
        var expected = inputs.Select(x => T.Values(lstm.Forward(x).Output)).ToArray();
        var actual = new float[inputs.Length][];

        Parallel.For(0, inputs.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            actual[i % inputs.Length] = T.Values(lstm.Forward(inputs[i % inputs.Length]).Output));

        for (int i = 0; i < inputs.Length; i++)
        {
            actual[i].Should().Equal(expected[i]);
        }
    }

    private static float[] Row(float[] values, int outer, int batch, int width, int b)
    {
        var row = new List<float>();
        for (int o = 0; o < outer; o++)
        {
            row.AddRange(values.AsSpan(((o * batch) + b) * width, width).ToArray());
        }

        return [.. row];
    }

    /// <summary>(A, B, F) → (B, A, F).</summary>
    private static float[] Transpose(float[] values, int a, int b, int width)
    {
        float[] result = new float[values.Length];
        for (int i = 0; i < a; i++)
        {
            for (int j = 0; j < b; j++)
            {
                Array.Copy(values, ((i * b) + j) * width, result, ((j * a) + i) * width, width);
            }
        }

        return result;
    }
}
