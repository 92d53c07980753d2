using System;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;

namespace Recurrent.Benchmarks;

/// <summary>
/// <c>Recurrent.Benchmarks compare --threads N</c>: times every <see cref="BenchConfig"/> through the tensor API (which,
/// like PyTorch's, allocates its outputs) and prints one line per config: <c>name&lt;TAB&gt;median ms</c>.
/// benchmarks/compare/run.sh joins these lines with PyTorch's.
/// </summary>
internal static class CompareRunner
{
    /// <summary>The span path's weights: float32, or a quantized copy (<c>--bf16</c>, <c>--int8</c>).</summary>
    private static WeightPrecision s_precision = WeightPrecision.Float32;

    public static int Run(string[] args)
    {
        int threads = 1;
        double seconds = 1.0;
        string only = "";
        bool span = false;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads":
                    threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--span":
                    span = true;
                    break;
                case "--bf16":
                    // The span path on bfloat16 copies; rows without one (training, the cell) are left out.
                    span = true;
                    s_precision = WeightPrecision.BFloat16;
                    break;
                case "--int8":
                    // The span path on int8 copies; rows without one (training, the cell) are left out.
                    span = true;
                    s_precision = WeightPrecision.Int8;
                    break;
                case "--only":
                    only = args[++i];
                    break;
                case "--seconds":
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        Parallelism.NumThreads = threads;
        foreach (BenchConfig config in BenchConfig.All)
        {
            if (!config.Name.Contains(only, StringComparison.Ordinal)
                || (s_precision != WeightPrecision.Float32 && (config.Train || config.Kind == "lstmcell")))
            {
                continue;
            }

            Action call = span ? BuildSpan(config) : Build(config);
            double ms = MedianTimer.Median(call, seconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{config.Name}\t{ms:F4}"));
        }

        return 0;
    }

    /// <summary>The allocation-free path: caller-owned output and state, one reused workspace.</summary>
    internal static Action BuildSpan(BenchConfig c)
    {
        var random = new Random(1);
        float[] Random(int count)
        {
            float[] v = new float[count];
            for (int i = 0; i < v.Length; i++)
            {
                v[i] = (float)((random.NextDouble() * 2) - 1);
            }

            return v;
        }

        int d = c.Bidirectional ? 2 : 1;
        var workspace = new RecurrentWorkspace();
        var shape = new SequenceShape(c.Seq, c.Batch, c.Input);
        float[] x = Random(c.Seq * c.Batch * c.Input);
        if (c.Train)
        {
            // Training has no span path: the tensor API's forward and Backward.
            return Build(c);
        }

        if (c.Packed)
        {
            return BuildPackedSpan(c, x, workspace);
        }

        float[] output = new float[c.Seq * c.Batch * d * c.Hidden];
        float[] hN = new float[c.Layers * d * c.Batch * c.Hidden];
        float[] cN = new float[hN.Length];
        switch (c.Kind)
        {
            case "lstm":
                {
                    Lstm m = Precise(new Lstm(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0).Eval());
                    return () => m.Forward(x, shape, default, default, output, hN, cN, workspace);
                }

            case "gru":
                {
                    Gru m = Precise(new Gru(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0).Eval());
                    return () => m.Forward(x, shape, default, output, hN, workspace);
                }

            case "rnn":
                {
                    Rnn m = Precise(new Rnn(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0).Eval());
                    return () => m.Forward(x, shape, default, output, hN, workspace);
                }

            default:
                {
                    var m = new LstmCell(c.Input, c.Hidden, seed: 0).Eval();
                    float[] h = Random(c.Batch * c.Hidden), cs = Random(c.Batch * c.Hidden);
                    float[] h1 = new float[h.Length], c1 = new float[h.Length];
                    return () => m.Forward(x.AsSpan(0, c.Batch * c.Input), c.Batch, h, cs, h1, c1, workspace);
                }
        }
    }

    private static Lstm Precise(Lstm m) => s_precision == WeightPrecision.Float32 ? m : m.Quantize(s_precision);

    private static Gru Precise(Gru m) => s_precision == WeightPrecision.Float32 ? m : m.Quantize(s_precision);

    private static Rnn Precise(Rnn m) => s_precision == WeightPrecision.Float32 ? m : m.Quantize(s_precision);

    /// <summary>A packed config on the span overload: the padded tensor packed once, then only the layer is timed.</summary>
    private static Action BuildPackedSpan(BenchConfig c, float[] x, RecurrentWorkspace workspace)
    {
        PackedSequence packed = RnnUtils.PackPaddedSequence(Tensor.Create(x, [c.Seq, c.Batch, c.Input]), c.MixedLengths(), enforceSorted: false);
        float[] data = new float[packed.Data.FlattenedLength];
        packed.Data.FlattenTo(data);
        int[] batchSizes = packed.BatchSizes.ToArray(), sorted = packed.SortedIndices.ToArray();
        int d = c.Bidirectional ? 2 : 1;
        float[] output = new float[(data.Length / c.Input) * d * c.Hidden];
        float[] hN = new float[c.Layers * d * c.Batch * c.Hidden], cN = new float[hN.Length];
        switch (c.Kind)
        {
            case "lstm":
                {
                    Lstm m = Precise(new Lstm(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0).Eval());
                    return () => m.Forward(data, batchSizes, sorted, default, default, output, hN, cN, workspace);
                }

            case "gru":
                {
                    Gru m = Precise(new Gru(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0).Eval());
                    return () => m.Forward(data, batchSizes, sorted, default, output, hN, workspace);
                }

            default:
                {
                    Rnn m = Precise(new Rnn(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0).Eval());
                    return () => m.Forward(data, batchSizes, sorted, default, output, hN, workspace);
                }
        }
    }

    internal static Action Build(BenchConfig c)
    {
        var random = new Random(1);
        Tensor<float> Random(params int[] shape)
        {
            float[] v = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < v.Length; i++)
            {
                v[i] = (float)((random.NextDouble() * 2) - 1);
            }

            return Tensor.Create(v, Array.ConvertAll(shape, d => (nint)d));
        }

        RnnBase? layer = c.Kind switch
        {
            "lstm" => new Lstm(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0),
            "gru" => new Gru(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0),
            "rnn" => new Rnn(c.Input, c.Hidden, c.Layers, bidirectional: c.Bidirectional, seed: 0),
            _ => null,
        };
        if (layer is not null)
        {
            Tensor<float> x = Random(c.Seq, c.Batch, c.Input);
            if (c.Train)
            {
                layer.Train();
                if (c.Packed)
                {
                    PackedSequence packedInput = RnnUtils.PackPaddedSequence(x, c.MixedLengths(), enforceSorted: false);
                    var packedGrad = new PackedSequence(
                        Random((int)packedInput.Data.Lengths[0], c.Hidden * (c.Bidirectional ? 2 : 1)), packedInput.BatchSizes, packedInput.SortedIndices);
                    return () =>
                    {
                        Forward(layer, packedInput);
                        Backward(layer, packedGrad);
                    };
                }

                Tensor<float> grad = Random(c.Seq, c.Batch, c.Hidden * (c.Bidirectional ? 2 : 1));
                return () =>
                {
                    Forward(layer, x);
                    Backward(layer, grad);
                };
            }

            layer.Eval();
            if (c.Packed)
            {
                PackedSequence packed = RnnUtils.PackPaddedSequence(x, c.MixedLengths(), enforceSorted: false);
                return () => Forward(layer, packed);
            }

            return () => Forward(layer, x);
        }

        // lstmcell: one step.
        var cell = new LstmCell(c.Input, c.Hidden, seed: 0).Eval(); // inference: a training-mode cell records each step
        Tensor<float> input = Random(c.Batch, c.Input), hx = Random(c.Batch, c.Hidden), cx = Random(c.Batch, c.Hidden);
        return () => cell.Forward(input, hx, cx);
    }

    /// <summary>The tensor-API forward of whichever recurrent layer (each kind has its own output type).</summary>
    private static object Forward(RnnBase layer, Tensor<float> x) => layer switch
    {
        Lstm lstm => lstm.Forward(x),
        Gru gru => gru.Forward(x),
        _ => ((Rnn)layer).Forward(x),
    };

    private static object Forward(RnnBase layer, PackedSequence x) => layer switch
    {
        Lstm lstm => lstm.Forward(x),
        Gru gru => gru.Forward(x),
        _ => ((Rnn)layer).Forward(x),
    };

    private static RnnGradients Backward(RnnBase layer, Tensor<float> gradOutput) => layer switch
    {
        Lstm lstm => lstm.Backward(gradOutput),
        Gru gru => gru.Backward(gradOutput),
        _ => ((Rnn)layer).Backward(gradOutput),
    };

    private static RnnGradients Backward(RnnBase layer, PackedSequence gradOutput) => layer switch
    {
        Lstm lstm => lstm.Backward(gradOutput),
        Gru gru => gru.Backward(gradOutput),
        _ => ((Rnn)layer).Backward(gradOutput),
    };
}
