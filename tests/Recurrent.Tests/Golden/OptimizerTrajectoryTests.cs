using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using System.Text.Json;
using FluentAssertions;
using Recurrent.Optim;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Golden;

/// <summary>
/// Five training steps of an LSTM + Linear classifier (cross-entropy on the last step) with each optimizer, against
/// the parameters PyTorch had after every step (tests/fixtures/generate.py, optimizer_grid).
/// </summary>
public sealed class OptimizerTrajectoryTests
{
    public static TheoryData<string> Cases => Fixture.Names("optimizers");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Trajectory_MatchesPyTorch(string name)
    {
        Fixture f = Fixture.Load("optimizers", name);
        JsonElement root = f.Root;
        var lstm = new Lstm(4, 6);
        var head = new Linear(6, 3);
        lstm.LoadStateDict(Fixture.StateOf(root.GetProperty("initial").GetProperty("lstm")));
        head.LoadStateDict(Fixture.StateOf(root.GetProperty("initial").GetProperty("head")));
        Parameter[] parameters = [.. lstm.Parameters(), .. head.Parameters()];
        Optimizer optimizer = name switch
        {
            "sgd" => new Sgd(parameters, lr: 0.5f),
            "sgd_momentum_dampening_weight_decay" => new Sgd(parameters, lr: 0.2f, momentum: 0.9f, dampening: 0.1f, weightDecay: 1e-2f),
            "sgd_nesterov_clipped" => new Sgd(parameters, lr: 0.2f, momentum: 0.8f, nesterov: true),
            "adam" => new Adam(parameters, lr: 0.01f),
            "adam_weight_decay_amsgrad" => new Adam(parameters, lr: 0.02f, weightDecay: 0.01f, amsgrad: true),
            "adamw" => new AdamW(parameters, lr: 0.01f),
            "adamw_clipped" => new AdamW(parameters, lr: 0.03f, beta1: 0.8f, beta2: 0.99f, weightDecay: 0.1f),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        float? clip = root.GetProperty("clip").ValueKind == JsonValueKind.Null ? null : root.GetProperty("clip").GetSingle();
        Tensor<float> x = f.Input("input");
        int[] targets = f.Ints("inputs", "targets")!;
        lstm.Train();
        head.Train();

        int step = 0;
        foreach (JsonElement expected in root.GetProperty("trajectory").EnumerateArray())
        {
            // The PyTorch loop: zero_grad, forward, loss, backward, (clip), step.
            optimizer.ZeroGrad();
            Tensor<float> output = lstm.Forward(x).Output;                     // (5, 4, 6)
            Tensor<float> last = LastStep(output);                              // output[-1]: (4, 6)
            LossResult loss = Loss.CrossEntropy(head.Forward(last), targets);
            Tensor<float> gradLast = head.Backward(loss.Gradient);
            lstm.Backward(IntoLastStep(gradLast, output.Lengths));
            if (clip is float maxNorm)
            {
                GradClip.ClipGradNorm(parameters, maxNorm);
            }

            optimizer.Step();
            step++;
            loss.Value.Should().BeApproximately(expected.GetProperty("loss").GetSingle(), 1e-5f, $"{name} step {step}: loss");
            Compare(Fixture.StateOf(expected.GetProperty("lstm")), lstm.StateDict(), $"{name} step {step}");
            Compare(Fixture.StateOf(expected.GetProperty("head")), head.StateDict(), $"{name} step {step}");
        }
    }

    [Fact]
    public void Linear_ReprAndShapes_FollowPyTorch()
    {
        var linear = new Linear(6, 3, seed: 1);
        linear.ToString().Should().Be("Linear(in_features=6, out_features=3, bias=True)");
        linear.StateDict().Keys.Should().Equal("weight", "bias");
        linear.Forward(T.Random(1, 1f, 2, 5, 6)).Lengths.ToArray().Should().Equal([2, 5, 3]);
        new Action(() => linear.Forward(T.Zeros(2, 5))).Should().Throw<ArgumentException>().WithMessage("mat1 and mat2 shapes cannot be multiplied*");
    }

    private static void Compare(OrderedDictionary<string, Tensor<float>> expected, OrderedDictionary<string, Tensor<float>> actual, string what)
    {
        foreach ((string key, Tensor<float> e) in expected)
        {
            float[] a = T.Values(actual[key]), ev = T.Values(e);
            for (int i = 0; i < ev.Length; i++)
            {
                Math.Abs(a[i] - ev[i]).Should().BeLessThanOrEqualTo(1e-5f + (1e-4f * Math.Abs(ev[i])), $"{what}: {key}[{i}]");
            }
        }
    }

    private static Tensor<float> LastStep(Tensor<float> output)
    {
        int t = (int)output.Lengths[0], b = (int)output.Lengths[1], h = (int)output.Lengths[2];
        return Tensor.Create(T.Values(output).AsSpan((t - 1) * b * h, b * h).ToArray(), [b, h]);
    }

    private static Tensor<float> IntoLastStep(Tensor<float> gradLast, ReadOnlySpan<nint> lengths)
    {
        int t = (int)lengths[0], b = (int)lengths[1], h = (int)lengths[2];
        float[] grad = new float[t * b * h];
        T.Values(gradLast).CopyTo(grad, (t - 1) * b * h);
        return Tensor.Create(grad, [t, b, h]);
    }
}
