using System;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace Recurrent.Benchmarks;

/// <summary>LSTM inference, the configurations of the side-by-side table (B, T, I, H).</summary>
[MemoryDiagnoser]
public class LstmForwardBench
{
    private Lstm _lstm = null!;
    private Tensor<float> _input = null!;

    [Params("1,100,128,256", "32,100,256,512")]
    public string Config { get; set; } = "1,100,128,256";

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.NumThreads = Threads;
        int[] c = Array.ConvertAll(Config.Split(','), int.Parse);
        (int batch, int seq, int input, int hidden) = (c[0], c[1], c[2], c[3]);
        _lstm = new Lstm(input, hidden, seed: 0).Eval();
        var random = new Random(1);
        float[] x = new float[seq * batch * input];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((random.NextDouble() * 2) - 1);
        }

        _input = Tensor.Create(x, [seq, batch, input]);
    }

    [Benchmark]
    public Tensor<float> Forward() => _lstm.Forward(_input).Output;
}
