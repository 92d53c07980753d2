using System;
using System.Linq;
using System.Numerics.Tensors;
using System.Text.Json;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;

namespace Recurrent.Tests.Golden;

/// <summary>
/// Runs one PyTorch fixture through the matching Recurrent module: the module is built from the same constructor
/// arguments, its repr and state_dict keys are compared with PyTorch's, PyTorch's state_dict is loaded, and every
/// output is compared at 1e-5. Each method returns the worst absolute error it saw.
/// </summary>
internal static class GoldenCases
{
    public static double Run(string kind, string name) => kind switch
    {
        "lstm" => Lstm(name),
        "gru" => Gru(name),
        "rnn" => Rnn(name),
        "cells" => Cell(name),
        "embedding" => Embedding(name),
        "packed" => Packed(name),
        "utils" => PackedUtilityCases.Run(name),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown fixture folder"),
    };

    public static double Lstm(string name)
    {
        Fixture f = Fixture.Load("lstm", name);
        var m = new Lstm(
            f.Int("inputSize"), f.Int("hiddenSize"), f.Int("numLayers"), f.Bool("bias"), f.Bool("batchFirst"), f.Float("dropout"), f.Bool("bidirectional"), f.Int("projSize"), seed: 7);
        Prepare(m, f, m.ToString());
        (Tensor<float> output, Tensor<float> hN, Tensor<float> cN) = m.Forward(f.Input("input"), f.OptionalInput("h0"), f.OptionalInput("c0"));
        return Max(Compare(f, "output", output), Compare(f, "h_n", hN), Compare(f, "c_n", cN));
    }

    public static double Gru(string name)
    {
        Fixture f = Fixture.Load("gru", name);
        var m = new Gru(f.Int("inputSize"), f.Int("hiddenSize"), f.Int("numLayers"), f.Bool("bias"), f.Bool("batchFirst"), f.Float("dropout"), f.Bool("bidirectional"), seed: 7);
        Prepare(m, f, m.ToString());
        (Tensor<float> output, Tensor<float> hN) = m.Forward(f.Input("input"), f.OptionalInput("h0"));
        return Max(Compare(f, "output", output), Compare(f, "h_n", hN));
    }

    public static double Rnn(string name)
    {
        Fixture f = Fixture.Load("rnn", name);
        Nonlinearity act = f.String("nonlinearity") == "relu" ? Nonlinearity.Relu : Nonlinearity.Tanh;
        var m = new Rnn(
            f.Int("inputSize"), f.Int("hiddenSize"), f.Int("numLayers"), act, f.Bool("bias"), f.Bool("batchFirst"), f.Float("dropout"), f.Bool("bidirectional"), seed: 7);

        // PyTorch 1.13's RNN repr omits nonlinearity=relu; Recurrent shows it (README, differences from PyTorch).
        string repr = m.ToString();
        if (act == Nonlinearity.Relu)
        {
            repr.Should().Contain(", nonlinearity=relu");
            repr = repr.Replace(", nonlinearity=relu", "", StringComparison.Ordinal);
        }

        Prepare(m, f, repr);
        (Tensor<float> output, Tensor<float> hN) = m.Forward(f.Input("input"), f.OptionalInput("h0"));
        return Max(Compare(f, "output", output), Compare(f, "h_n", hN));
    }

    public static double Cell(string name)
    {
        Fixture f = Fixture.Load("cells", name);
        int inputSize = f.Int("inputSize"), hiddenSize = f.Int("hiddenSize");
        bool bias = f.Bool("bias");
        switch (f.Module)
        {
            case "LSTMCell":
                {
                    var m = new LstmCell(inputSize, hiddenSize, bias, seed: 7);
                    Prepare(m, f, m.ToString());
                    (Tensor<float> h, Tensor<float> c) = m.Forward(f.Input("input"), f.OptionalInput("h"), f.OptionalInput("c"));
                    return Max(Compare(f, "h", h), Compare(f, "c", c));
                }

            case "GRUCell":
                {
                    var m = new GruCell(inputSize, hiddenSize, bias, seed: 7);
                    Prepare(m, f, m.ToString());
                    return Compare(f, "h", m.Forward(f.Input("input"), f.OptionalInput("h")));
                }

            default:
                {
                    Nonlinearity act = f.String("nonlinearity") == "relu" ? Nonlinearity.Relu : Nonlinearity.Tanh;
                    var m = new RnnCell(inputSize, hiddenSize, bias, act, seed: 7);
                    Prepare(m, f, m.ToString());
                    return Compare(f, "h", m.Forward(f.Input("input"), f.OptionalInput("h")));
                }
        }
    }

    public static double Embedding(string name)
    {
        Fixture f = Fixture.Load("embedding", name);
        Tensor<float> table = f.State()["weight"];
        Recurrent.Embedding m;
        if (f.Bool("pretrained"))
        {
            m = Recurrent.Embedding.FromPretrained(table, freeze: true, f.NullableInt("paddingIdx"), f.NullableFloat("maxNorm"), f.NullableFloat("normType") ?? 2f);
            m.Weight.RequiresGrad.Should().BeFalse("from_pretrained freezes by default");
            m.ToString().Should().Be(f.Repr);
        }
        else
        {
            m = new Recurrent.Embedding(
                f.Int("numEmbeddings"), f.Int("embeddingDim"), f.NullableInt("paddingIdx"), f.NullableFloat("maxNorm"), f.NullableFloat("normType") ?? 2f, seed: 7);
            Prepare(m, f, m.ToString());
        }

        JsonElement indices = f.RawInput("indices");
        nint[] shape = Fixture.Shape(indices);
        long[] values = indices.GetProperty("values").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        Tensor<float> output = indices.GetProperty("dtype").GetString() == "int32"
            ? m.Forward(Tensor.Create(values.Select(v => (int)v).ToArray(), shape))
            : m.Forward(Tensor.Create(values, shape));
        double worst = Compare(f, "output", output);
        TensorAssert.MatchesPyTorch(f.State("state_after")["weight"], m.StateDict()["weight"], name + ": weight after forward");
        return worst;
    }

    /// <summary>
    /// A layer on a PackedSequence: the packing must equal PyTorch's bit for bit (it is a copy), the packed output,
    /// its padded form and h_n/c_n must match at 1e-5.
    /// </summary>
    public static double Packed(string name)
    {
        Fixture f = Fixture.Load("packed", name);
        int inputSize = f.Int("inputSize"), hiddenSize = f.Int("hiddenSize"), layers = f.Int("numLayers");
        bool batchFirst = f.Bool("batchFirst"), bidirectional = f.Bool("bidirectional");
        RnnBase m = f.Module switch
        {
            "LSTM" => new Lstm(inputSize, hiddenSize, layers, batchFirst: batchFirst, bidirectional: bidirectional, projSize: f.Int("projSize"), seed: 7),
            "GRU" => new Gru(inputSize, hiddenSize, layers, batchFirst: batchFirst, bidirectional: bidirectional, seed: 7),
            _ => new Rnn(inputSize, hiddenSize, layers, batchFirst: batchFirst, bidirectional: bidirectional, seed: 7),
        };
        Prepare(m, f, m.ToString());

        int[] lengths = f.Ints("inputs", "lengths")!;
        bool enforceSorted = f.RawInput("enforce_sorted").GetBoolean();
        PackedSequence packed = RnnUtils.PackPaddedSequence(f.Input("input"), lengths, batchFirst, enforceSorted);
        packed.BatchSizes.ToArray().Should().Equal(f.Ints("outputs", "batch_sizes"), name + ": batch_sizes");
        int[] torchSorted = f.Ints("outputs", "sorted_indices") ?? [];
        // PyTorch 1.13's sort is not stable on large batches; Recurrent keeps ties in batch order. The two orders must
        // differ only among equal lengths, and then rows are compared in the caller's order (padded output, h_n).
        bool sameOrder = packed.SortedIndices.SequenceEqual(torchSorted);
        packed.SortedIndices.ToArray().Select(i => lengths[i]).Should().Equal(torchSorted.Select(i => lengths[i]), name + ": sorted lengths");
        if (sameOrder)
        {
            packed.UnsortedIndices.ToArray().Should().Equal(f.Ints("outputs", "unsorted_indices") ?? [], name + ": unsorted_indices");
            TensorAssert.Close(f.Output("packed_data"), packed.Data, 0f, name + ": packed data");
        }
        else
        {
            lengths.Length.Should().BeGreaterThan(16, "small batches sort stably in PyTorch too");
        }

        Tensor<float>? h0 = f.OptionalInput("h0");
        (PackedSequence output, double worst) = m switch
        {
            Lstm lstm => Run(lstm.Forward(packed, h0, f.OptionalInput("c0"))),
            Gru gru => Run(gru.Forward(packed, h0)),
            Rnn rnn => Run(rnn.Forward(packed, h0)),
            _ => throw new InvalidOperationException(),
        };
        output.BatchSizes.ToArray().Should().Equal(packed.BatchSizes.ToArray(), name + ": the output keeps the input's batch sizes");
        output.SortedIndices.ToArray().Should().Equal(packed.SortedIndices.ToArray(), name + ": and its indices");
        (Tensor<float> padded, int[] outLengths) = RnnUtils.PadPackedSequence(output, batchFirst);
        outLengths.Should().Equal(f.Ints("outputs", "output_lengths"), name + ": lengths");
        return Max(worst, sameOrder ? Compare(f, "output_data", output.Data) : 0, Compare(f, "output_padded", padded));

        (PackedSequence, double) Run(object result) => result switch
        {
            PackedLstmOutput o => (o.Output, Max(Compare(f, "h_n", o.HN), Compare(f, "c_n", o.CN))),
            PackedRnnOutput o => (o.Output, Compare(f, "h_n", o.HN)),
            _ => throw new InvalidOperationException(),
        };
    }

    private static void Prepare(Module m, Fixture f, string repr)
    {
        repr.Should().Be(f.Repr, "the repr follows PyTorch's");
        var state = f.State();
        m.StateDict().Keys.Should().Equal(state.Keys, "state_dict keys and their order are PyTorch's");
        LoadStateDictResult result = m.LoadStateDict(state);
        result.MissingKeys.Should().BeEmpty();
        result.UnexpectedKeys.Should().BeEmpty();
        m.Eval();
    }

    private static double Compare(Fixture f, string output, Tensor<float> actual)
    {
        Tensor<float> expected = f.Output(output);
        double worst = TensorAssert.Close(expected, actual, TensorAssert.PyTorchTolerance, f.Name + ": " + output);
        TensorAssert.MatchesPyTorch(expected, actual, f.Name + ": " + output);
        return worst;
    }

    private static double Max(params double[] values) => values.Max();
}
