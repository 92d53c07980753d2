using System;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>Work is split by whole tiles, never inside a sum: every thread count gives the same bits.</summary>
[Collection(nameof(ThreadSettings))]
public sealed class ThreadCountTests
{
    public static TheoryData<string> Configs => new() { "lstm 1,7,32,256", "lstm bi proj 5,6,20,100", "gru bi 33,4,16,64", "rnn relu 2,8,48,300" };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Output_IsBitIdentical_AtEveryThreadCount(string config)
    {
        string[] words = config.Split(' ');
        int[] n = Array.ConvertAll(words[^1].Split(','), int.Parse);
        (int batch, int seq, int input, int hidden) = (n[0], n[1], n[2], n[3]);
        bool bi = config.Contains(" bi", StringComparison.Ordinal);
        Func<Tensor<float>, float[]> run = words[0] switch
        {
            "lstm" => x => T.Values(new Lstm(input, hidden, 2, bidirectional: bi, projSize: config.Contains("proj", StringComparison.Ordinal) ? hidden / 3 : 0, seed: 1).Forward(x).Output),
            "gru" => x => T.Values(new Gru(input, hidden, 2, bidirectional: bi, seed: 1).Forward(x).Output),
            _ => x => T.Values(new Rnn(input, hidden, 2, Nonlinearity.Relu, bidirectional: bi, seed: 1).Forward(x).Output),
        };
        Tensor<float> x = T.Random(2, 1f, seq, batch, input);

        int saved = Parallelism.NumThreads;
        try
        {
            Parallelism.NumThreads = 1;
            float[] one = run(x);
            for (int threads = 2; threads <= Math.Max(2, Environment.ProcessorCount); threads++)
            {
                Parallelism.NumThreads = threads;
                long parallelRuns = Recurrent.Kernels.WorkerPool.Shared.ParallelRuns;
                run(x).Should().Equal(one, $"{threads} threads");
                if (Environment.ProcessorCount > 1)
                {
                    Recurrent.Kernels.WorkerPool.Shared.ParallelRuns.Should().BeGreaterThan(parallelRuns, "the call must really have run on several threads");
                }
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }
    }
}

/// <summary>Tests that change <see cref="Parallelism.NumThreads"/> or need the worker pool free run alone.</summary>
[CollectionDefinition(nameof(ThreadSettings), DisableParallelization = true)]
public sealed class ThreadSettings
{
}
