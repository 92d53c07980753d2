using System;
using System.Runtime.Intrinsics;
using Recurrent.Kernels;
using Recurrent.Kernels.Reference;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>The gate passes against the scalar reference, hidden sizes 0 to 2×512-bit width + 3, pre-activations up to ±60 (saturated).</summary>
public sealed class GatesTests
{
    public static TheoryData<int> HiddenSizes()
    {
        var data = new TheoryData<int>();
        for (int h = 0; h <= (2 * Vector512<float>.Count) + 3; h++)
        {
            data.Add(h);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HiddenSizes))]
    public void Lstm_MatchesReference(int hidden)
    {
        var random = new Random(hidden);
        const int batch = 3;
        float[] hg = Fill(random, batch * 4 * hidden, 60f);
        float[] ig = Fill(random, batch * 4 * hidden, 60f);
        float[] c = Fill(random, batch * hidden, 3f);
        float[] cRef = (float[])c.Clone();
        float[] h = new float[batch * hidden];
        float[] hRef = new float[batch * hidden];

        ReferenceKernels.Lstm((float[])hg.Clone(), ig, cRef, hRef, batch, hidden);
        Gates.Lstm(hg, ig, c, h, batch, hidden);

        TensorAssert.Close(cRef, c, 2e-6f, "c'");
        TensorAssert.Close(hRef, h, 2e-6f, "h'");
    }

    [Theory]
    [MemberData(nameof(HiddenSizes))]
    public void Gru_MatchesReference(int hidden)
    {
        var random = new Random(100 + hidden);
        const int batch = 3;
        float[] hg = Fill(random, batch * 3 * hidden, 60f);
        float[] ig = Fill(random, batch * 3 * hidden, 60f);
        float[] h = Fill(random, batch * hidden, 2f);
        float[] hRef = (float[])h.Clone();

        ReferenceKernels.Gru((float[])hg.Clone(), ig, hRef, batch, hidden);
        Gates.Gru(hg, ig, h, batch, hidden);

        TensorAssert.Close(hRef, h, 2e-6f, "h'");
    }

    [Theory]
    [MemberData(nameof(HiddenSizes))]
    public void Rnn_MatchesReference(int hidden)
    {
        var random = new Random(200 + hidden);
        const int batch = 2;
        float[] hg = Fill(random, batch * hidden, 30f);
        float[] ig = Fill(random, batch * hidden, 30f);
        foreach (bool relu in new[] { false, true })
        {
            float[] h = new float[batch * hidden];
            float[] hRef = new float[batch * hidden];
            ReferenceKernels.Rnn(hg, ig, hRef, batch, hidden, relu);
            Gates.Rnn(hg, ig, h, batch, hidden, relu);
            TensorAssert.Close(hRef, h, 2e-6f, relu ? "relu" : "tanh");
        }
    }

    private static float[] Fill(Random random, int count, float scale)
    {
        float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(((random.NextDouble() * 2) - 1) * scale);
        }

        return values;
    }
}
