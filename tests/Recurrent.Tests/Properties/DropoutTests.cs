using System;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>RNG streams cannot match PyTorch's, so dropout is tested by its properties (pytorch-semantics.md A.6).</summary>
public sealed class DropoutTests
{
    [Fact]
    public void Kernel_KeepsAboutOneMinusP_AndScalesKeptValues()
    {
        float[] values = Enumerable.Repeat(1f, 200_000).ToArray();
        Recurrent.Kernels.Dropout.Apply(values, 0.3f, new Random(1));
        values.Should().OnlyContain(v => v == 0f || v == 1f / 0.7f);
        double zeros = values.Count(v => v == 0f) / (double)values.Length;
        zeros.Should().BeApproximately(0.3, 0.005);
    }

    [Fact]
    public void TrainingMode_PIsOne_ZeroesTheNextLayersInput()
    {
        var twoLayers = new Gru(3, 4, numLayers: 2, dropout: 1f, seed: 1);
        var secondLayerAlone = new Gru(4, 4, seed: 2);
        secondLayerAlone.LoadStateDict(twoLayers.StateDict()
            .Where(p => p.Key.EndsWith("_l1", StringComparison.Ordinal))
            .ToDictionary(p => p.Key[..^1] + "0", p => p.Value));
        Tensor<float> x = T.Random(3, 1f, 5, 2, 3);

        RnnOutput trained = twoLayers.Train().Forward(x);
        RnnOutput zeroInput = secondLayerAlone.Forward(T.Zeros(5, 2, 4));

        T.Values(trained.Output).Should().Equal(T.Values(zeroInput.Output));
    }

    [Fact]
    public void TrainingMode_ChangesOutputs_EvalModeIsDeterministic()
    {
        var lstm = new Lstm(3, 8, numLayers: 3, dropout: 0.5f, seed: 4);
        Tensor<float> x = T.Random(5, 1f, 6, 2, 3);
        float[] eval1 = T.Values(lstm.Eval().Forward(x).Output);
        float[] eval2 = T.Values(lstm.Forward(x).Output);
        float[] train = T.Values(lstm.Train().Forward(x).Output);

        eval2.Should().Equal(eval1);
        train.Should().NotEqual(eval1);
        lstm.Training.Should().BeTrue();
    }

    [Fact]
    public void TrainingMode_SameSeed_SameMasks()
    {
        Tensor<float> x = T.Random(6, 1f, 6, 2, 3);
        float[] a = T.Values(new Rnn(3, 8, numLayers: 2, dropout: 0.5f, seed: 9).Forward(x).Output);
        float[] b = T.Values(new Rnn(3, 8, numLayers: 2, dropout: 0.5f, seed: 9).Forward(x).Output);
        a.Should().Equal(b);
    }

    [Fact]
    public void OneLayer_IgnoresDropoutEvenInTraining()
    {
        var gru = new Gru(3, 4, dropout: 0.9f, seed: 5);
        Tensor<float> x = T.Random(7, 1f, 4, 2, 3);
        T.Values(gru.Train().Forward(x).Output).Should().Equal(T.Values(gru.Eval().Forward(x).Output));
    }
}

/// <summary>The Dropout module: the kept fraction, the scale, evaluation mode and the mask reused by Backward.</summary>
public sealed class DropoutLayerTests
{
    [Fact]
    public void Training_KeepsAboutOneMinusP_ScaledByItsInverse_AndBackwardUsesTheSameMask()
    {
        var dropout = new DropoutLayer(0.25f, seed: 3);
        dropout.ToString().Should().Be("Dropout(p=0.25, inplace=False)");
        float[] ones = new float[40_000];
        Array.Fill(ones, 1f);
        Tensor<float> x = Tensor.Create(ones, [200, 200]);
        float[] y = T.Values(dropout.Forward(x));
        y.Should().OnlyContain(v => v == 0f || Math.Abs(v - (1f / 0.75f)) < 1e-6f);
        double kept = y.Count(v => v != 0f) / (double)y.Length;
        kept.Should().BeApproximately(0.75, 0.02, "each element survives with probability 1 - p");
        T.Values(dropout.Backward(x)).Should().Equal(y, "the gradient of ones is the mask itself");
        dropout.Eval();
        T.Values(dropout.Forward(x)).Should().Equal(ones);
        T.Values(dropout.Backward(x)).Should().Equal(ones);
    }
}
