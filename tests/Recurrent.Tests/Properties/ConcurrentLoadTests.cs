using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Properties;

/// <summary>
/// A Forward or a StateDict overlapping LoadStateDict sees all old or all new weights (README, "Thread safety"): never
/// rows of one version and rows of the other.
/// </summary>
public sealed class ConcurrentLoadTests
{
    public static TheoryData<string> Modules => ["Lstm", "Gru", "LstmCell", "Linear", "Embedding", "Embedding maxNorm"];

    [Theory]
    [MemberData(nameof(Modules))]
    public void ForwardAndStateDict_DuringLoadStateDict_SeeAllOldOrAllNewWeights(string kind)
    {
        (Module module, Func<float[]> forward) = Create(kind, seed: 1);
        (Module other, _) = Create(kind, seed: 2);
        OrderedDictionary<string, Tensor<float>> stateA = module.StateDict(), stateB = other.StateDict();
        float[] expectedA = forward();
        module.LoadStateDict(stateB);
        float[] expectedB = forward();
        module.LoadStateDict(stateA);
        expectedA.Should().NotEqual(expectedB, "the two versions must be told apart");
        float[] flatA = Flatten(stateA), flatB = Flatten(stateB);

        int forwards = 0, loads = 0, seenA = 0, seenB = 0;
        bool done = false;
        var loader = new Thread(() =>
        {
            // One load per forward started, so each forward can overlap a load but the (writing) loads cannot starve it.
            int seen = -1;
            while (!Volatile.Read(ref done))
            {
                if (Volatile.Read(ref forwards) == seen)
                {
                    Thread.Yield();
                    continue;
                }

                seen = Volatile.Read(ref forwards);
                module.LoadStateDict(loads++ % 2 == 0 ? stateB : stateA);
            }
        });
        loader.Start();
        try
        {
            // Until both versions were seen a few times (the loader alternates them).
            // Bounded by time, not by count: on a loaded machine the loader may not run at all for a while.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (; clock.Elapsed < TimeSpan.FromSeconds(20) && (seenA < 5 || seenB < 5 || forwards < 200); Interlocked.Increment(ref forwards))
            {
                float[] actual = forward();
                bool isA = actual.AsSpan().SequenceEqual(expectedA), isB = actual.AsSpan().SequenceEqual(expectedB);
                (isA || isB).Should().BeTrue($"forward {forwards} (after {loads} loads) must give the old or the new weights' result, not a mix");
                seenA += isA ? 1 : 0;
                seenB += isB ? 1 : 0;
                float[] state = Flatten(module.StateDict());
                (state.AsSpan().SequenceEqual(flatA) || state.AsSpan().SequenceEqual(flatB)).Should().BeTrue($"StateDict {forwards} must be one version");
            }
        }
        finally
        {
            Volatile.Write(ref done, true);
            loader.Join();
        }

        loads.Should().BeGreaterThan(1, "the loads must overlap the forwards");
        (seenA >= 5 && seenB >= 5).Should().BeTrue($"both versions must be seen a few times ({seenA} old, {seenB} new in {forwards} forwards)");
    }

    private static (Module Module, Func<float[]> Forward) Create(string kind, int seed)
    {
        switch (kind)
        {
            case "Lstm":
                {
                    var lstm = new Lstm(64, 128, numLayers: 2, seed: seed).Eval();
                    Tensor<float> x = T.Random(7, 1f, 4, 2, 64);
                    return (lstm, () => T.Values(lstm.Forward(x).Output));
                }

            case "Gru":
                {
                    var gru = new Gru(64, 128, bidirectional: true, seed: seed).Eval();
                    Tensor<float> x = T.Random(7, 1f, 4, 2, 64);
                    return (gru, () => T.Values(gru.Forward(x).Output));
                }

            case "LstmCell":
                {
                    var cell = new LstmCell(128, 256, seed: seed).Eval();
                    Tensor<float> x = T.Random(7, 1f, 2, 128);
                    return (cell, () => T.Values(cell.Forward(x).H));
                }

            case "Linear":
                {
                    var linear = new Linear(256, 1024, seed: seed).Eval();
                    Tensor<float> x = T.Random(7, 1f, 2, 256);
                    return (linear, () => T.Values(linear.Forward(x)));
                }

            default:
                {
                    // A large table, so a load's copy takes long enough to overlap lookups of rows spread over it. With
                    // maxNorm every lookup also rescales the rows it reads, in place (as PyTorch does).
                    var embedding = new Embedding(8192, 128, maxNorm: kind.EndsWith("maxNorm", StringComparison.Ordinal) ? 1e6f : null, seed: seed).Eval();
                    Tensor<int> indices = Tensor.Create(Enumerable.Range(0, 64).Select(i => (i * 127) % 8192).ToArray(), [64]);
                    return (embedding, () => T.Values(embedding.Forward(indices)));
                }
        }
    }

    private static float[] Flatten(OrderedDictionary<string, Tensor<float>> state) => state.Values.SelectMany(T.Values).ToArray();
}
