using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using Recurrent.Optim;
using static Recurrent.Training.SampleHelpers;

namespace Recurrent.Training;

/// <summary>
/// Why LSTM and GRU beat a plain RNN, measured. The task: read L signs (+1 or -1, one per step) and say what the
/// <em>first</em> one was; every later step is noise the model must carry the answer through. A plain tanh RNN, an LSTM
/// and a GRU of the same width are trained the same way for each L, with PyTorch's initialisation and with the gate
/// that keeps the state (the LSTM's forget gate, the GRU's update gate) biased open; then tested on held-out sequences.
/// For one long L the gradient of the loss with respect to each hidden state, ‖∂loss/∂h_t‖, is traced back through
/// time at initialisation by unrolling the layer's cell (the library's own Backward, one step at a time): what the
/// first steps of training have to learn from.
/// </summary>
public static class GateExperiment
{
    private const int Hidden = 32, Batch = 32, TestRows = 1024;

    /// <summary>A run counts as solved at this held-out accuracy.</summary>
    public const float Solved = 0.95f;

    /// <summary>The bias added to the keep gate in the "gate open" variants: σ(4) = 0.982 of the state kept per step at the start.</summary>
    public const float KeepGateBias = 4f;

    /// <summary>The models compared, in the order they are printed and drawn.</summary>
    public static readonly GateVariant[] Variants =
    [
        new("RNN (tanh)", "RNN", 0f),
        new("LSTM", "LSTM", 0f),
        new("GRU", "GRU", 0f),
        new("LSTM, forget gate open", "LSTM", KeepGateBias),
        new("GRU, update gate open", "GRU", KeepGateBias),
    ];

    /// <summary>
    /// Trains every variant at every length from <paramref name="seeds"/> seeds (<paramref name="steps"/> Adam steps of
    /// 32 sequences each) and traces the gradients at <paramref name="traceLength"/>; prints both tables.
    /// </summary>
    public static GateResults Run(IReadOnlyList<int> lengths, int steps, int seeds, int traceLength, TextWriter log)
    {
        log.WriteLine($"task: read L signs (+1/-1), answer the first one (chance: 50 %). Hidden {Hidden}, batch {Batch}, {steps} Adam steps per run, {seeds} seed(s), {TestRows} held-out sequences");
        log.WriteLine($"the 'open' variants add {KeepGateBias} to the bias of the gate that keeps the state (σ({KeepGateBias}) = {1 / (1 + MathF.Exp(-KeepGateBias)):F3})");
        var accuracy = new float[Variants.Length][][];
        var jobs = new List<(int Variant, int Length, int Seed)>();
        for (int v = 0; v < Variants.Length; v++)
        {
            accuracy[v] = new float[lengths.Count][];
            for (int i = 0; i < lengths.Count; i++)
            {
                accuracy[v][i] = new float[seeds];
                for (int seed = 0; seed < seeds; seed++)
                {
                    jobs.Add((v, i, seed));
                }
            }
        }

        // Independent runs, one per core; each is deterministic, so the order they finish in changes nothing.
        Parallel.ForEach(jobs, job =>
        {
            var model = new FirstSignModel(Variants[job.Variant], job.Seed);
            model.Fit(lengths[job.Length], steps, job.Seed);
            accuracy[job.Variant][job.Length][job.Seed] = model.Accuracy(lengths[job.Length], job.Seed + 1000);
        });

        log.WriteLine();
        log.WriteLine($"held-out accuracy, mean over seeds (runs solved, ≥ {Solved:P0}):");
        log.WriteLine($"{"L",-24}" + string.Concat(lengths.Select(l => $"{l,13}")));
        for (int v = 0; v < Variants.Length; v++)
        {
            log.WriteLine($"{Variants[v].Name,-24}" + string.Concat(accuracy[v].Select(runs => $"{runs.Average(),7:P0} ({runs.Count(a => a >= Solved)}/{seeds})")));
        }

        var norms = new float[Variants.Length][];
        Parallel.For(0, Variants.Length, v => norms[v] = new FirstSignModel(Variants[v], 0).GradientNorms(traceLength, 2000));
        int[] shown = [.. new[] { traceLength, traceLength * 3 / 4, traceLength / 2, traceLength / 4, 1 }.Distinct()];
        log.WriteLine();
        log.WriteLine($"‖∂loss/∂h_t‖ at initialisation, L = {traceLength}, mean over {Batch} sequences (t = 1 holds the answer; 0 = underflow):");
        log.WriteLine($"{"t",-24}" + string.Concat(shown.Select(t => $"{t,10}")));
        for (int v = 0; v < Variants.Length; v++)
        {
            log.WriteLine($"{Variants[v].Name,-24}" + string.Concat(shown.Select(t => $"{norms[v][t - 1],10:0.0E+0}")));
        }

        return new GateResults([.. lengths], accuracy, traceLength, norms);
    }

    /// <summary>A batch of sign sequences, time-major <c>(L, N, 1)</c>, and the first sign of each as the class (1 for +1).</summary>
    internal static (float[] Signs, int[] Labels) MakeBatch(Random random, int length, int batch)
    {
        float[] signs = new float[length * batch];
        for (int i = 0; i < signs.Length; i++)
        {
            signs[i] = random.Next(2) == 0 ? -1f : 1f;
        }

        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            labels[b] = signs[b] > 0 ? 1 : 0;
        }

        return (signs, labels);
    }

    /// <summary>One recurrent layer (RNN, LSTM or GRU, one input feature) and a linear head on its last hidden state.</summary>
    private sealed class FirstSignModel
    {
        private readonly string _kind;
        private readonly Module _layer;
        private readonly Linear _head;

        public FirstSignModel(GateVariant variant, int seed)
        {
            _kind = variant.Kind;
            _layer = variant.Kind switch
            {
                "RNN" => new Rnn(1, Hidden, seed: seed),
                "LSTM" => new Lstm(1, Hidden, seed: seed),
                _ => new Gru(1, Hidden, seed: seed),
            };
            _head = new Linear(Hidden, 2, seed: seed + 1);
            if (variant.KeepGateBias != 0)
            {
                // The keep gate is the second block of the bias: the LSTM's forget gate (i, f, g, o), the GRU's update
                // gate (r, z, n; h' = (1 - z) n + z h, so a large z keeps h).
                OrderedDictionary<string, Tensor<float>> state = _layer.StateDict();
                float[] bias = Values(state["bias_ih_l0"]);
                TensorPrimitives.Add(bias.AsSpan(Hidden, Hidden), variant.KeepGateBias, bias.AsSpan(Hidden, Hidden));
                state["bias_ih_l0"] = Tensor.Create(bias, [bias.Length]);
                _layer.LoadStateDict(state);
            }
        }

        public void Fit(int length, int steps, int seed)
        {
            var random = new Random(seed + length);
            Parameter[] parameters = [.. _layer.Parameters(), .. _head.Parameters()];
            var optimizer = new Adam(parameters, lr: 0.005f);
            _layer.Train();
            _head.Train();
            Tensor<float> noOutputGrad = Tensor.Create(new float[length * Batch * Hidden], [length, Batch, Hidden]);
            for (int step = 0; step < steps; step++)
            {
                (float[] signs, int[] labels) = MakeBatch(random, length, Batch);
                optimizer.ZeroGrad();
                Tensor<float> hN = Forward(Tensor.Create(signs, [length, Batch, 1]));
                LossResult loss = Loss.CrossEntropy(_head.Forward(Rows(hN)), labels);
                Tensor<float> gradHN = Tensor.Create(Values(_head.Backward(loss.Gradient)), [1, Batch, Hidden]);
                _ = _layer switch
                {
                    Rnn rnn => rnn.Backward(noOutputGrad, gradHN),
                    Lstm lstm => lstm.Backward(noOutputGrad, gradHN),
                    _ => ((Gru)_layer).Backward(noOutputGrad, gradHN),
                };
                GradClip.ClipGradNorm(parameters, 1f);
                optimizer.Step();
            }
        }

        public float Accuracy(int length, int seed)
        {
            _layer.Eval();
            _head.Eval();
            (float[] signs, int[] labels) = MakeBatch(new Random(seed + length), length, TestRows);
            Tensor<float> hN = Forward(Tensor.Create(signs, [length, TestRows, 1]));
            return SampleHelpers.Accuracy(Values(_head.Forward(Rows(hN))), labels, 2);
        }

        /// <summary>
        /// ‖∂loss/∂h_t‖ for t = 1..L, mean over a batch: the layer's weights copied into its cell, the cell unrolled
        /// over the sequence (recording each step), the loss on the last h, then the cell's Backward called once per
        /// step from the last to the first, each call handing ∂loss/∂h_(t-1) (and the LSTM's ∂loss/∂c_(t-1)) to the next.
        /// </summary>
        public float[] GradientNorms(int length, int seed)
        {
            RnnCellBase cell = _kind switch
            {
                "RNN" => new RnnCell(1, Hidden),
                "LSTM" => new LstmCell(1, Hidden),
                _ => new GruCell(1, Hidden),
            };
            cell.LoadStateDict(_layer.StateDict().ToDictionary(p => p.Key.Replace("_l0", "", StringComparison.Ordinal), p => p.Value));
            cell.Train();
            _head.Train();
            (float[] signs, int[] labels) = MakeBatch(new Random(seed), length, Batch);
            Tensor<float> h = Tensor.Create(new float[Batch * Hidden], [Batch, Hidden]), c = h;
            for (int t = 0; t < length; t++)
            {
                Tensor<float> x = Tensor.Create(signs.AsSpan(t * Batch, Batch).ToArray(), [Batch, 1]);
                (h, c) = cell switch
                {
                    LstmCell lstmCell => lstmCell.Forward(x, h, c) is var next ? (next.H, next.C) : default,
                    RnnCell rnnCell => (rnnCell.Forward(x, h), c),
                    _ => (((GruCell)cell).Forward(x, h), c),
                };
            }

            LossResult loss = Loss.CrossEntropy(_head.Forward(h), labels);
            Tensor<float> gradH = _head.Backward(loss.Gradient);
            Tensor<float>? gradC = null;
            float[] norms = new float[length];
            for (int t = length - 1; t >= 0; t--)
            {
                norms[t] = MeanRowNorm(Values(gradH));
                CellGradients grads = cell switch
                {
                    LstmCell lstmCell => lstmCell.Backward(gradH, gradC),
                    RnnCell rnnCell => rnnCell.Backward(gradH),
                    _ => ((GruCell)cell).Backward(gradH),
                };
                (gradH, gradC) = (grads.GradH, grads.GradC);
            }

            return norms;
        }

        /// <summary>h_n of the layer for <c>(L, N, 1)</c> signs.</summary>
        private Tensor<float> Forward(Tensor<float> x) => _layer switch
        {
            Rnn rnn => rnn.Forward(x).HN,
            Lstm lstm => lstm.Forward(x).HN,
            _ => ((Gru)_layer).Forward(x).HN,
        };

        /// <summary>h_n <c>(1, N, H)</c> as <c>(N, H)</c>.</summary>
        private static Tensor<float> Rows(Tensor<float> hN) => Tensor.Create(Values(hN), [hN.Lengths[1], hN.Lengths[2]]);

        private static float MeanRowNorm(float[] rows)
        {
            double sum = 0;
            for (int b = 0; b < Batch; b++)
            {
                sum += TensorPrimitives.Norm(rows.AsSpan(b * Hidden, Hidden));
            }

            return (float)(sum / Batch);
        }
    }
}

/// <summary>One model of the experiment: its name, its layer (RNN, LSTM or GRU) and the bias added to its keep gate.</summary>
public sealed record GateVariant(string Name, string Kind, float KeepGateBias);

/// <summary>
/// What <see cref="GateExperiment.Run"/> measured: held-out accuracy per variant, length and seed; and ‖∂loss/∂h_t‖ per
/// variant and step at initialisation.
/// </summary>
public sealed record GateResults(int[] Lengths, float[][][] Accuracy, int TraceLength, float[][] GradientNorms);
