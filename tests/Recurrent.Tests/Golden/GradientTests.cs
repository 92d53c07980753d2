using System;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Text.Json;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Golden;

/// <summary>Backpropagation through time against PyTorch autograd (tests/fixtures/generate.py, grad_grid).</summary>
public sealed class GradientTests(ITestOutputHelper log)
{
    /// <summary>The training issue's bar: relative error 1e-4, absolute 1e-5 near zero.</summary>
    private const double Relative = 1e-4, Absolute = 1e-5;

    public static TheoryData<string> Cases => Fixture.Names("gradients");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_MatchesPyTorchAutograd(string name) => Run(name);

    [Fact]
    public void AllGradients_WorstRelativeError_IsWithinTolerance()
    {
        Cases.Should().HaveCountGreaterThan(20);
        (double worst, string where) = Fixture.NameList("gradients").Select(n => Run(n)).MaxBy(r => r.Worst);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst gradient error against PyTorch autograd: {worst:G3} of the tolerance ({where})"));
        worst.Should().BeLessThanOrEqualTo(1);
    }

    [Fact]
    public void GradientsAccumulate_UntilZeroGrad()
    {
        var gru = new Gru(3, 4, seed: 1);
        Tensor<float> x = T.Random(1, 1f, 5, 2, 3);
        Tensor<float> gradOutput = T.Random(2, 1f, 5, 2, 4);
        gru.Forward(x);
        gru.Backward(gradOutput);
        float[] once = T.Values(gru.NamedParameters().First().Parameter.Grad!);
        gru.Forward(x);
        gru.Backward(gradOutput);
        float[] twice = T.Values(gru.NamedParameters().First().Parameter.Grad!);
        twice.Should().Equal(once.Select(v => v + v), "a second backward adds to Grad, as in PyTorch");
        gru.ZeroGrad();
        gru.Parameters().Should().OnlyContain(p => p.Grad == null);
    }

    [Theory]
    [InlineData(5, 2)]
    [InlineData(2, 1)]
    public void FrozenRecurrentParameter_GetsNoGradient_OthersUnchanged(int seq, int batch)
    {
        // T·N = 10 rows takes the many-rows weight-gradient path, 2 rows the few-rows one (straight into Grad).
        Tensor<float> x = T.Random(1, 1f, seq, batch, 3);
        Tensor<float> gradOutput = T.Random(2, 1f, seq, batch, 4);
        var free = new Lstm(3, 4, seed: 1);
        free.Forward(x);
        free.Backward(gradOutput);
        var frozen = new Lstm(3, 4, seed: 1);
        Parameter weightHH = frozen.NamedParameters().Single(p => p.Name == "weight_hh_l0").Parameter;
        weightHH.RequiresGrad = false;
        frozen.Forward(x);
        frozen.Backward(gradOutput);
        frozen.Forward(x);
        frozen.Backward(gradOutput);
        weightHH.Grad.Should().BeNull();
        foreach (((string name, Parameter f), (_, Parameter p)) in frozen.NamedParameters().Zip(free.NamedParameters()))
        {
            if (name != "weight_hh_l0")
            {
                TensorAssert.Close(T.Values(p.Grad!).Select(v => v + v).ToArray(), T.Values(f.Grad!), 1e-6f, name + " after two backward passes");
            }
        }
    }

    [Fact]
    public void Eval_ReleasesTrainingMemory_ButNotAPendingRecord()
    {
        const int seq = 50, batch = 4, hidden = 40;
        var lstm = new Lstm(3, hidden, seed: 1);
        Tensor<float> x = T.Random(1, 1f, seq, batch, 3), gradOutput = T.Random(2, 1f, seq, batch, hidden);
        long Step()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            lstm.Forward(x);
            lstm.Backward(gradOutput);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        // Small enough to run on the calling thread, so every allocation is counted here.
        lstm.Forward(x);
        RnnGradients first = lstm.Backward(gradOutput);
        long kept = Step();
        lstm.Eval();
        lstm.Train();
        long afterEval = Step();
        (afterEval - kept).Should().BeGreaterThanOrEqualTo(
            (long)seq * batch * 4 * hidden * sizeof(float), "Eval() let the training memory go (the recorded gates alone are this large), so the next step allocates it again");

        // PyTorch allows eval() between a forward and its backward: the pending record survives.
        lstm.Forward(x);
        lstm.Eval();
        T.Values(lstm.Backward(gradOutput).GradInput).Should().Equal(T.Values(first.GradInput));
    }

    [Fact]
    public void Backward_WithoutTrainingForward_Throws()
    {
        var lstm = new Lstm(3, 4).Eval();
        lstm.Forward(T.Random(1, 1f, 5, 2, 3));
        new Action(() => lstm.Backward(T.Zeros(5, 2, 4))).Should().Throw<InvalidOperationException>()
            .WithMessage("LSTM.Backward needs a Forward run in training mode first*");
        lstm.Train().Forward(T.Random(1, 1f, 5, 2, 3));
        new Action(() => lstm.Backward(T.Zeros(5, 2, 5))).Should().Throw<ArgumentException>()
            .WithMessage("gradOutput must have the forward tensor's shape [5, 2, 4], got [5, 2, 5]*");
    }

    [Fact]
    public void FrozenEmbedding_GetsNoGradient()
    {
        Embedding frozen = Embedding.FromPretrained(T.Random(1, 1f, 5, 3)).Train();
        frozen.Forward(Tensor.Create(new long[] { 1, 2 }, [2]));
        new Action(() => frozen.Backward(T.Zeros(2, 3))).Should().Throw<InvalidOperationException>().WithMessage("*frozen table*");
        frozen.Weight.Grad.Should().BeNull();
    }

    /// <summary>A packed forward and backward; the packed input gradient, padded, must equal PyTorch's gradient of the padded input.</summary>
    private static (double Worst, string Where) RunPacked(Fixture f, RnnBase m)
    {
        // PyTorch's packing of the input (its order of tied lengths), which our packing must reproduce up to that order.
        int[] lengths = f.Ints("inputs", "lengths")!;
        PackedSequence ours = RnnUtils.PackPaddedSequence(f.Input("input"), lengths, enforceSorted: false);
        PackedSequence packed = new(f.Input("input_data"), f.Ints("inputs", "batch_sizes")!, f.Ints("inputs", "sorted_indices")!);
        T.Values(RnnUtils.PadPackedSequence(ours).Padded).Should().Equal(T.Values(RnnUtils.PadPackedSequence(packed).Padded), f.Name + ": the same padded input either way");
        Tensor<float>? h0 = f.OptionalInput("h0"), c0 = f.OptionalInput("c0");
        Tensor<float>? gradHN = f.OptionalInput("grad_hn"), gradCN = f.OptionalInput("grad_cn");
        PackedSequence gradOutput = new(f.Input("grad_output"), packed.BatchSizes, packed.SortedIndices);
        (PackedSequence output, RnnGradients grads) = m switch
        {
            Lstm lstm => (lstm.Forward(packed, h0, c0).Output, lstm.Backward(gradOutput, gradHN, gradCN)),
            Gru gru => (gru.Forward(packed, h0).Output, gru.Backward(gradOutput, gradHN)),
            _ => (((Rnn)m).Forward(packed, h0).Output, ((Rnn)m).Backward(gradOutput, gradHN)),
        };
        TensorAssert.Close(f.Output("output_data"), output.Data, TensorAssert.PyTorchTolerance, f.Name + ": output");
        Tensor<float> gradInput = RnnUtils.PadPackedSequence(new PackedSequence(grads.GradInput, packed.BatchSizes, packed.SortedIndices)).Padded;
        (double Worst, string Where) worst = CompareRelative(f.Name, "grad_input", f.Output("grad_input"), gradInput);
        if (h0 is not null)
        {
            worst = Worse(worst, CompareRelative(f.Name, "grad_h0", f.Output("grad_h0"), grads.GradH0));
        }

        if (c0 is not null)
        {
            worst = Worse(worst, CompareRelative(f.Name, "grad_c0", f.Output("grad_c0"), grads.GradC0));
        }

        var named = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach ((string key, Tensor<float> expected) in f.State("param_grads"))
        {
            worst = Worse(worst, CompareRelative(f.Name, key + ".grad", expected, named[key].Grad));
        }

        return worst;
    }

    private static (double Worst, string Where) RunCell(Fixture f)
    {
        int inputSize = f.Int("inputSize"), hiddenSize = f.Int("hiddenSize");
        bool bias = f.Bool("bias");
        RnnCellBase m = f.Module switch
        {
            "LSTMCell" => new LstmCell(inputSize, hiddenSize, bias),
            "GRUCell" => new GruCell(inputSize, hiddenSize, bias),
            _ => new RnnCell(inputSize, hiddenSize, bias, f.String("nonlinearity") == "relu" ? Nonlinearity.Relu : Nonlinearity.Tanh),
        };
        m.LoadStateDict(f.State());
        m.Train();
        Tensor<float> x = f.Input("input");
        Tensor<float>? h = f.OptionalInput("h"), c = f.OptionalInput("c");
        CellGradients grads;
        switch (m)
        {
            case LstmCell lstm:
                lstm.Forward(x, h, c);
                grads = lstm.Backward(f.Input("grad_h"), f.OptionalInput("grad_c"));
                break;
            case GruCell gru:
                gru.Forward(x, h);
                grads = gru.Backward(f.Input("grad_h"));
                break;
            default:
                ((RnnCell)m).Forward(x, h);
                grads = ((RnnCell)m).Backward(f.Input("grad_h"));
                break;
        }
        var outputs = new (string Name, Tensor<float>? Actual)[] { ("grad_input", grads.GradInput), ("grad_h", h is null ? null : grads.GradH), ("grad_c", c is null ? null : grads.GradC) };
        (double Worst, string Where) worst = (0, f.Name);
        foreach ((string name, Tensor<float>? actual) in outputs)
        {
            if (actual is not null)
            {
                worst = Worse(worst, CompareRelative(f.Name, name, f.Output(name), actual));
            }
        }

        var named = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach ((string key, Tensor<float> expected) in f.State("param_grads"))
        {
            worst = Worse(worst, CompareRelative(f.Name, key + ".grad", expected, named[key].Grad));
        }

        return worst;
    }

    /// <summary>
    /// A GRUCell decoder unrolled over 10 steps and trained with SGD, as tests/fixtures/generate.py's decoder_case does in
    /// PyTorch: each step embeds the previous token, appends an encoder context, steps the cell and applies a Linear head;
    /// one cross-entropy over every step. Backward walks the loop from its last step: each module's Backward takes its
    /// newest pending forward. The first iteration's gradients (every parameter, the context, h0), each iteration's loss and
    /// the parameters after three SGD steps must match PyTorch autograd.
    /// </summary>
    [Fact]
    public void GruCellDecoder_UnrolledOverTenSteps_MatchesPyTorchAutograd()
    {
        Fixture f = Fixture.Load("unrolled", "gru_cell_decoder_10_steps");
        JsonElement root = f.Root, sizes = root.GetProperty("sizes");
        int v = sizes.GetProperty("V").GetInt32(), e = sizes.GetProperty("E").GetInt32(), c = sizes.GetProperty("C").GetInt32();
        int h = sizes.GetProperty("H").GetInt32(), steps = sizes.GetProperty("T").GetInt32(), b = sizes.GetProperty("B").GetInt32();
        var embedding = new Embedding(v, e);
        var cell = new GruCell(e + c, h);
        var head = new Linear(h, v);
        Module[] modules = [embedding, cell, head];
        string[] names = ["embedding", "cell", "head"];
        for (int m = 0; m < modules.Length; m++)
        {
            modules[m].LoadStateDict(Fixture.StateOf(root.GetProperty("initial").GetProperty(names[m])));
        }

        Tensor<float> context = f.Input("context"), h0 = f.Input("h0");
        long[][] tokens = f.RawInput("tokens").EnumerateArray().Select(row => row.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        int[] targets = tokens.Skip(1).SelectMany(row => row).Select(x => (int)x).ToArray();
        var sgd = new Optim.Sgd([.. embedding.Parameters(), .. cell.Parameters(), .. head.Parameters()], root.GetProperty("lr").GetSingle());
        float[] losses = root.GetProperty("losses").EnumerateArray().Select(x => x.GetSingle()).ToArray();
        (double Worst, string Where) worst = (0, "decoder");
        for (int iteration = 0; iteration < losses.Length; iteration++)
        {
            sgd.ZeroGrad();
            var logits = new float[steps * b * v];
            Tensor<float> state = h0;
            for (int t = 0; t < steps; t++)
            {
                float[] embedded = T.Values(embedding.Forward(Tensor.Create(tokens[t], [b])));
                var x = new float[b * (e + c)];
                for (int row = 0; row < b; row++)
                {
                    embedded.AsSpan(row * e, e).CopyTo(x.AsSpan(row * (e + c)));
                    T.Values(context).AsSpan(row * c, c).CopyTo(x.AsSpan((row * (e + c)) + e));
                }

                state = cell.Forward(Tensor.Create(x, [b, e + c]), state);
                T.Values(head.Forward(state)).CopyTo(logits, t * b * v);
            }

            LossResult loss = Loss.CrossEntropy(Tensor.Create(logits, [steps * b, v]), targets);
            loss.Value.Should().BeApproximately(losses[iteration], 1e-5f * Math.Abs(losses[iteration]), $"the loss of iteration {iteration}");

            // Backward through the loop, last step first.
            float[] gradLogits = T.Values(loss.Gradient);
            var gradState = new float[b * h];
            var gradContext = new float[b * c];
            for (int t = steps - 1; t >= 0; t--)
            {
                float[] gradH = T.Values(head.Backward(Tensor.Create(gradLogits.AsSpan(t * b * v, b * v).ToArray(), [b, v])));
                TensorPrimitives.Add(gradH, gradState, gradH);
                CellGradients step = cell.Backward(Tensor.Create(gradH, [b, h]));
                float[] gradX = T.Values(step.GradInput);
                var gradEmbedded = new float[b * e];
                for (int row = 0; row < b; row++)
                {
                    gradX.AsSpan(row * (e + c), e).CopyTo(gradEmbedded.AsSpan(row * e));
                    Span<float> gradContextRow = gradContext.AsSpan(row * c, c);
                    TensorPrimitives.Add(gradContextRow, gradX.AsSpan((row * (e + c)) + e, c), gradContextRow);
                }

                embedding.Backward(Tensor.Create(gradEmbedded, [b, e]));
                gradState = T.Values(step.GradH);
            }

            if (iteration == 0)
            {
                JsonElement grads = root.GetProperty("grads");
                worst = Worse(worst, CompareRelative("decoder", "context.grad", Fixture.FloatTensor(grads.GetProperty("context")), Tensor.Create(gradContext, [b, c])));
                worst = Worse(worst, CompareRelative("decoder", "h0.grad", Fixture.FloatTensor(grads.GetProperty("h0")), Tensor.Create(gradState, [b, h])));
                for (int m = 0; m < modules.Length; m++)
                {
                    var named = modules[m].NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
                    foreach ((string key, Tensor<float> expected) in Fixture.StateOf(grads.GetProperty(names[m])))
                    {
                        worst = Worse(worst, CompareRelative("decoder", $"{names[m]}.{key}.grad", expected, named[key].Grad));
                    }
                }
            }

            sgd.Step();
        }

        for (int m = 0; m < modules.Length; m++)
        {
            foreach ((string key, Tensor<float> expected) in Fixture.StateOf(root.GetProperty("final").GetProperty(names[m])))
            {
                worst = Worse(worst, CompareRelative("decoder", $"{names[m]}.{key} after {losses.Length} SGD steps", expected, modules[m].StateDict()[key]));
            }
        }

        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"unrolled GRUCell decoder: worst error {worst.Worst:G3} of the tolerance ({worst.Where})"));
    }

    /// <summary>Every forward of an unrolled cell waits for its own Backward, newest first; one more Backward than forwards is refused.</summary>
    [Fact]
    public void CellBackward_WalksTheLoopBackwards_ThenRefusesOneMore()
    {
        var cell = new LstmCell(3, 4, seed: 2);
        Tensor<float> x0 = T.Random(1, 1f, 2, 3), x1 = T.Random(2, 1f, 2, 3), gradH = T.Random(3, 1f, 2, 4);
        LstmCellOutput s1 = cell.Forward(x0);
        cell.Forward(x1, s1.H, s1.C);
        CellGradients second = cell.Backward(gradH);
        CellGradients first = cell.Backward(second.GradH, second.GradC);

        // Each step run and backpropagated alone by a cell with the same weights gives the same bits.
        var onlySecond = new LstmCell(3, 4, seed: 2);
        onlySecond.Forward(x1, s1.H, s1.C);
        CellGradients expectSecond = onlySecond.Backward(gradH);
        var onlyFirst = new LstmCell(3, 4, seed: 2);
        onlyFirst.Forward(x0);
        CellGradients expectFirst = onlyFirst.Backward(second.GradH, second.GradC);
        T.Values(second.GradInput).Should().Equal(T.Values(expectSecond.GradInput));
        T.Values(first.GradInput).Should().Equal(T.Values(expectFirst.GradInput));
        T.Values(cell.WeightHH.Grad!).Should().Equal(T.Values(onlyFirst.WeightHH.Grad!).Zip(T.Values(onlySecond.WeightHH.Grad!), (a, b) => b + a));
        new Action(() => cell.Backward(gradH)).Should().Throw<InvalidOperationException>().WithMessage("LSTMCell.Backward needs a Forward run in training mode first*newest first*");
    }

    private static (double, string) Worse((double Worst, string Where) a, (double Worst, string Where) b) => b.Worst > a.Worst ? b : a;

    private static (double Worst, string Where) CompareRelative(string name, string what, Tensor<float> expected, Tensor<float>? actual)
    {
        actual.Should().NotBeNull(what);
        actual!.Lengths.ToArray().Should().Equal(expected.Lengths.ToArray(), $"{name}: {what} shape");
        float[] e = T.Values(expected), a = T.Values(actual);
        (double Worst, string Where) worst = (0, $"{name} {what}");
        for (int i = 0; i < e.Length; i++)
        {
            double ratio = Math.Abs(a[i] - e[i]) / (Absolute + (Relative * Math.Abs(e[i])));
            ratio.Should().BeLessThanOrEqualTo(1, $"{name}: {what}[{i}] = {a[i]}, PyTorch {e[i]}");
            worst.Worst = Math.Max(worst.Worst, ratio);
        }

        return worst;
    }

    private static (double Worst, string Where) RunEmbedding(Fixture f)
    {
        var m = new Embedding(f.Int("numEmbeddings"), f.Int("embeddingDim"), f.NullableInt("paddingIdx"), scaleGradByFreq: f.Bool("scaleGradByFreq"));
        m.ToString().Should().Be(f.Repr);
        m.LoadStateDict(f.State());
        m.Train();
        JsonElement indices = f.RawInput("indices");
        long[] values = indices.GetProperty("values").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        Tensor<float> output = m.Forward(Tensor.Create(values, Fixture.Shape(indices)));
        TensorAssert.Close(f.Output("output"), output, 0f, f.Name + ": output");
        m.Backward(f.Input("grad_output"));
        Tensor<float> expected = f.State("param_grads")["weight"];
        TensorAssert.Close(expected, m.Weight.Grad!, (float)Absolute, f.Name + ": weight.grad");
        return (0, f.Name);
    }

    private static (double Worst, string Where) Run(string name)
    {
        Fixture f = Fixture.Load("gradients", name);
        if (f.Module == "Embedding")
        {
            return RunEmbedding(f);
        }

        if (f.Module.EndsWith("Cell", StringComparison.Ordinal))
        {
            return RunCell(f);
        }

        int inputSize = f.Int("inputSize"), hiddenSize = f.Int("hiddenSize"), layers = f.Int("numLayers");
        bool bias = f.Bool("bias"), batchFirst = f.Bool("batchFirst"), bidirectional = f.Bool("bidirectional");
        RnnBase m = f.Module switch
        {
            "LSTM" => new Lstm(inputSize, hiddenSize, layers, bias, batchFirst, 0f, bidirectional, f.Int("projSize"), seed: 7),
            "GRU" => new Gru(inputSize, hiddenSize, layers, bias, batchFirst, 0f, bidirectional, seed: 7),
            _ => new Rnn(inputSize, hiddenSize, layers, f.String("nonlinearity") == "relu" ? Nonlinearity.Relu : Nonlinearity.Tanh, bias, batchFirst, 0f, bidirectional, seed: 7),
        };
        m.LoadStateDict(f.State());
        m.Train();
        if (f.Root.TryGetProperty("packed", out _))
        {
            return RunPacked(f, m);
        }

        Tensor<float>? h0 = f.OptionalInput("h0"), c0 = f.OptionalInput("c0");
        Tensor<float> gradOutput = f.Input("grad_output");
        Tensor<float>? gradHN = f.OptionalInput("grad_hn"), gradCN = f.OptionalInput("grad_cn");
        RnnGradients grads;
        Tensor<float> output;
        switch (m)
        {
            case Lstm lstm:
                output = lstm.Forward(f.Input("input"), h0, c0).Output;
                grads = lstm.Backward(gradOutput, gradHN, gradCN);
                break;
            case Gru gru:
                output = gru.Forward(f.Input("input"), h0).Output;
                grads = gru.Backward(gradOutput, gradHN);
                break;
            default:
                output = ((Rnn)m).Forward(f.Input("input"), h0).Output;
                grads = ((Rnn)m).Backward(gradOutput, gradHN);
                break;
        }

        TensorAssert.Close(f.Output("output"), output, TensorAssert.PyTorchTolerance, name + ": output");
        (double Worst, string Where) worst = (0, "");
        void Check(string what, Tensor<float> expected, Tensor<float>? actual)
        {
            actual.Should().NotBeNull(what);
            actual!.Lengths.ToArray().Should().Equal(expected.Lengths.ToArray(), $"{name}: {what} shape");
            float[] e = T.Values(expected), a = T.Values(actual);
            for (int i = 0; i < e.Length; i++)
            {
                double ratio = Math.Abs(a[i] - e[i]) / (Absolute + (Relative * Math.Abs(e[i])));
                ratio.Should().BeLessThanOrEqualTo(1, $"{name}: {what}[{i}] = {a[i]}, PyTorch {e[i]}");
                if (ratio > worst.Worst)
                {
                    worst = (ratio, $"{name} {what}");
                }
            }
        }

        Check("grad_input", f.Output("grad_input"), grads.GradInput);
        if (h0 is not null)
        {
            Check("grad_h0", f.Output("grad_h0"), grads.GradH0);
        }

        if (c0 is not null)
        {
            Check("grad_c0", f.Output("grad_c0"), grads.GradC0);
        }

        var named = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        var expectedGrads = f.State("param_grads");
        named.Keys.Should().BeEquivalentTo(expectedGrads.Keys);
        foreach ((string key, Tensor<float> expected) in expectedGrads)
        {
            Check(key + ".grad", expected, named[key].Grad);
        }

        return worst;
    }
}
