using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Xunit;
using Xunit.Sdk;

namespace Recurrent.Tests.Training;

/// <summary>
/// A float64 gradient check that backs up the PyTorch gradient fixtures: the loss <c>L = Σ output·R + Σ h_n·R_h (+ Σ c_n·R_c)</c>
/// is written out here in double precision from PyTorch's equations (its own forward, not the library's), its gradient
/// with respect to every parameter, the input, h0 and c0 is taken by central differences, and the library's float32
/// Backward must match it within the tolerance (relative 1e-4, absolute 1e-5 near zero). Small sizes keep the
/// thousands of double forwards fast.
/// </summary>
public sealed class FiniteDifferenceTests
{
    private const double Step = 1e-6;

    public static TheoryData<string> Configs() => new()
    {
        "lstm",
        "lstm 2-layer bi proj",
        "gru bi",
        "gru 2-layer",
        "rnn-tanh 2-layer bi",
        "rnn-relu",

        // T·N = 2 rows ≤ every K: the weight gradients take the other orientation (Gᵀ·A straight into W).
        "lstm short proj",
        "gru short bi",
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Backward_MatchesCentralDifferencesInDouble(string config)
    {
        string[] words = config.Split(' ');
        string kind = words[0];
        int layers = words.Contains("2-layer") ? 2 : 1;
        bool bi = words.Contains("bi");
        int proj = words.Contains("proj") ? 2 : 0;
        bool shortRun = words.Contains("short");
        int T = shortRun ? 2 : 4, B = shortRun ? 1 : 2;
        const int I = 3, H = 3;
        int d = bi ? 2 : 1, hOut = proj > 0 ? proj : H;
        RnnBase module = kind switch
        {
            "lstm" => new Lstm(I, H, layers, bidirectional: bi, projSize: proj, seed: 7),
            "gru" => new Gru(I, H, layers, bidirectional: bi, seed: 7),
            _ => new Rnn(I, H, layers, kind == "rnn-relu" ? Nonlinearity.Relu : Nonlinearity.Tanh, bidirectional: bi, seed: 7),
        };
        module.Train();
        var random = new Random(config.Length);
        float[] x = Fill(random, T * B * I), h0 = Fill(random, layers * d * B * hOut), c0 = Fill(random, layers * d * B * H);
        float[] r = Fill(random, T * B * d * hOut), rh = Fill(random, layers * d * B * hOut), rc = Fill(random, layers * d * B * H);
        bool lstm = kind == "lstm";

        // The library: a training forward, then Backward with dL/d(output) = R, dL/dh_n = R_h, dL/dc_n = R_c.
        Tensor<float> tx = Tensor.Create(x, [T, B, I]), th0 = Tensor.Create(h0, [layers * d, B, hOut]), tc0 = Tensor.Create(c0, [layers * d, B, H]);
        Tensor<float> tr = Tensor.Create(r, [T, B, d * hOut]), trh = Tensor.Create(rh, [layers * d, B, hOut]), trc = Tensor.Create(rc, [layers * d, B, H]);
        RnnGradients grads = module switch
        {
            Lstm l => Forward(l.Forward(tx, th0, tc0).Output, () => l.Backward(tr, trh, trc)),
            Gru g => Forward(g.Forward(tx, th0).Output, () => g.Backward(tr, trh)),
            Rnn n => Forward(n.Forward(tx, th0).Output, () => n.Backward(tr, trh)),
            _ => throw new InvalidOperationException(),
        };

        // The double model: the module's parameters by PyTorch name, and the tensors the loss depends on.
        var values = new Dictionary<string, double[]>();
        foreach ((string name, Parameter p) in module.NamedParameters())
        {
            values[name] = Flat(p.Data);
        }

        values["input"] = ToDouble(x);
        values["h0"] = ToDouble(h0);
        values["c0"] = ToDouble(c0);
        var model = new DoubleModel(kind, layers, d, I, H, proj, T, B, ToDouble(r), ToDouble(rh), ToDouble(rc));

        var analytic = new Dictionary<string, float[]>
        {
            ["input"] = FlatFloat(grads.GradInput),
            ["h0"] = FlatFloat(grads.GradH0),
        };
        if (lstm)
        {
            analytic["c0"] = FlatFloat(grads.GradC0!);
        }

        foreach ((string name, Parameter p) in module.NamedParameters())
        {
            analytic[name] = FlatFloat(p.Grad!);
        }

        int checkedCount = 0;
        foreach ((string name, float[] want) in analytic)
        {
            double[] v = values[name];
            for (int i = 0; i < v.Length; i++)
            {
                double saved = v[i];
                v[i] = saved + Step;
                double up = model.Loss(values);
                v[i] = saved - Step;
                double down = model.Loss(values);
                v[i] = saved;
                double numeric = (up - down) / (2 * Step);
                double error = Math.Abs(want[i] - numeric);
                if (error > 1e-5 && error > 1e-4 * Math.Abs(numeric))
                {
                    throw new XunitException($"{config}: dL/d{name}[{i}] = {want[i]:G9} from Backward, {numeric:G9} by central differences in double");
                }

                checkedCount++;
            }
        }

        Assert.True(checkedCount > 30, $"{config}: only {checkedCount} gradient elements checked");

        // And the double model is the library's function: its loss equals the float forward's to float rounding.
        Tensor<float> output = module switch
        {
            Lstm l => l.Forward(tx, th0, tc0).Output,
            Gru g => g.Forward(tx, th0).Output,
            Rnn n => n.Forward(tx, th0).Output,
            _ => throw new InvalidOperationException(),
        };
        double floatDot = Flat(output).Zip(r, (a, b) => a * b).Sum();
        double doubleDot = model.OutputDot(values);
        Assert.True(Math.Abs(floatDot - doubleDot) < 1e-4, $"{config}: Σ output·R is {floatDot} from the library, {doubleDot} from the double model");
    }

    private static RnnGradients Forward(Tensor<float> output, Func<RnnGradients> backward)
    {
        _ = output;
        return backward();
    }

    private static float[] Fill(Random random, int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static float[] FlatFloat(Tensor<float> t)
    {
        float[] result = new float[t.FlattenedLength];
        t.FlattenTo(result);
        return result;
    }

    private static double[] Flat(Tensor<float> t) => ToDouble(FlatFloat(t));

    /// <summary>PyTorch's recurrent equations in double, time-major, for the loss above.</summary>
    private sealed class DoubleModel(string kind, int layers, int d, int inputSize, int hidden, int proj, int seqLen, int batch, double[] r, double[] rh, double[] rc)
    {
        private int HOut => proj > 0 ? proj : hidden;

        public double Loss(Dictionary<string, double[]> v)
        {
            (double[] output, double[] hN, double[] cN) = Run(v);
            return Dot(output, r) + Dot(hN, rh) + (kind == "lstm" ? Dot(cN, rc) : 0);
        }

        public double OutputDot(Dictionary<string, double[]> v) => Dot(Run(v).Output, r);

        private static double Dot(double[] a, double[] b) => a.Zip(b, (p, q) => p * q).Sum();

        private (double[] Output, double[] HN, double[] CN) Run(Dictionary<string, double[]> v)
        {
            int hOut = HOut, gates = kind == "lstm" ? 4 : kind == "gru" ? 3 : 1;
            double[] layerInput = v["input"];
            double[] hN = new double[layers * d * batch * hOut], cN = new double[layers * d * batch * hidden];
            for (int layer = 0; layer < layers; layer++)
            {
                int inSize = layer == 0 ? inputSize : d * hOut;
                double[] layerOutput = new double[seqLen * batch * d * hOut];
                for (int dir = 0; dir < d; dir++)
                {
                    string suffix = $"_l{layer}" + (dir == 1 ? "_reverse" : string.Empty);
                    double[] wih = v["weight_ih" + suffix], whh = v["weight_hh" + suffix], bih = v["bias_ih" + suffix], bhh = v["bias_hh" + suffix];
                    double[]? whr = proj > 0 ? v["weight_hr" + suffix] : null;
                    int state = (layer * d) + dir;
                    for (int b = 0; b < batch; b++)
                    {
                        double[] h = v["h0"].Skip(((state * batch) + b) * hOut).Take(hOut).ToArray();
                        double[] c = v["c0"].Skip(((state * batch) + b) * hidden).Take(hidden).ToArray();
                        for (int step = 0; step < seqLen; step++)
                        {
                            int t = dir == 0 ? step : seqLen - 1 - step;
                            double[] xt = layerInput.Skip(((t * batch) + b) * inSize).Take(inSize).ToArray();
                            double[] xa = new double[gates * hidden], ha = new double[gates * hidden];
                            for (int g = 0; g < gates * hidden; g++)
                            {
                                xa[g] = bih[g];
                                ha[g] = bhh[g];
                                for (int k = 0; k < inSize; k++)
                                {
                                    xa[g] += wih[(g * inSize) + k] * xt[k];
                                }

                                for (int k = 0; k < hOut; k++)
                                {
                                    ha[g] += whh[(g * hOut) + k] * h[k];
                                }
                            }

                            double[] hNew = new double[hidden];
                            for (int j = 0; j < hidden; j++)
                            {
                                switch (kind)
                                {
                                    case "lstm":
                                        {
                                            double i = Sigmoid(xa[j] + ha[j]), f = Sigmoid(xa[hidden + j] + ha[hidden + j]);
                                            double g = Math.Tanh(xa[(2 * hidden) + j] + ha[(2 * hidden) + j]), o = Sigmoid(xa[(3 * hidden) + j] + ha[(3 * hidden) + j]);
                                            c[j] = (f * c[j]) + (i * g);
                                            hNew[j] = o * Math.Tanh(c[j]);
                                            break;
                                        }

                                    case "gru":
                                        {
                                            double rg = Sigmoid(xa[j] + ha[j]), z = Sigmoid(xa[hidden + j] + ha[hidden + j]);
                                            double n = Math.Tanh(xa[(2 * hidden) + j] + (rg * ha[(2 * hidden) + j]));
                                            hNew[j] = ((1 - z) * n) + (z * h[j]);
                                            break;
                                        }

                                    case "rnn-relu":
                                        hNew[j] = Math.Max(0, xa[j] + ha[j]);
                                        break;

                                    default:
                                        hNew[j] = Math.Tanh(xa[j] + ha[j]);
                                        break;
                                }
                            }

                            if (whr is not null)
                            {
                                h = new double[hOut];
                                for (int p = 0; p < hOut; p++)
                                {
                                    for (int k = 0; k < hidden; k++)
                                    {
                                        h[p] += whr[(p * hidden) + k] * hNew[k];
                                    }
                                }
                            }
                            else
                            {
                                h = hNew;
                            }

                            Array.Copy(h, 0, layerOutput, (((t * batch) + b) * d * hOut) + (dir * hOut), hOut);
                        }

                        Array.Copy(h, 0, hN, ((state * batch) + b) * hOut, hOut);
                        Array.Copy(c, 0, cN, ((state * batch) + b) * hidden, hidden);
                    }
                }

                layerInput = layerOutput;
            }

            return (layerInput, hN, cN);
        }

        private static double Sigmoid(double a) => 1 / (1 + Math.Exp(-a));
    }
}
