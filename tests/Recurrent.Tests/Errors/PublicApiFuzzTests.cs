using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using CsCheck;
using FluentAssertions;
using Recurrent.Optim;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

/// <summary>
/// Random near-valid calls to every public entry point (constructors, tensor and span forwards, cells, packed input,
/// the rnn utilities, losses, optimizers, checkpoint loading): sizes near <see cref="int.MaxValue"/>, negative and empty
/// dimensions, broadcast (stride-0) tensors, out-of-range indices. Each call must return or throw an
/// <see cref="ArgumentException"/> (or subtype; <see cref="InvalidDataException"/> for a bad file), and allocate no
/// more than its small valid inputs need. The suite runs a fixed sequence; <c>.ci/run</c> a longer one
/// (RECURRENT_FUZZ_CASES, RECURRENT_FUZZ_SEED).
/// </summary>
public sealed class PublicApiFuzzTests(ITestOutputHelper output)
{
    /// <summary>No case may allocate more than this: every valid input generated is small.</summary>
    private const long AllocationBudget = 256L << 20;

    /// <summary>Valid modules larger than this many weights are not built (a legitimate multi-gigabyte model is no bug).</summary>
    private const double MaxBuiltWeights = 1 << 22;

    /// <summary>Dense tensors are generated up to this many elements; larger ones are broadcast over one element.</summary>
    private const long MaxDenseElements = 4096;

    /// <summary>What a layer costs beyond its weights (its packed copy is padded to whole panels of hidden units), in floats.</summary>
    private const double PerLayerOverhead = 8192;

    private static readonly Gen<int> Small = Gen.Int[0, 5];

    private static readonly Gen<int> Edge = Gen.OneOf(
        -1, -2, int.MinValue, int.MaxValue, int.MaxValue - 1, 1 << 30, (1 << 29) + 1, 715827883, 1 << 20, 1 << 16, 46341);

    private static readonly Gen<int> Dim = Gen.Frequency((8, (IGen<int>)Small), (2, Edge));

    private static readonly Gen<int> PositiveEdge = Gen.OneOf(1 << 16, 1 << 20, 1 << 30, int.MaxValue, 46341);

    private static readonly Gen<float> Real = Gen.Frequency(
        (6, (IGen<float>)Gen.Float[-2f, 2f]),
        (1, Gen.OneOf(0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, 1f, -1f, 1.5f, 1e30f)));

    /// <summary>A float tensor of rank 1..4: dense with random values when small, stride-0 over one value when large.</summary>
    private static readonly Gen<Tensor<float>> AnyTensor =
        Gen.Int[1, 4].SelectMany(rank => Gen.Frequency((9, (IGen<int>)Gen.Int[0, 4]), (1, PositiveEdge)).Array[rank])
            .Where(SmallOrImpossible)
            .SelectMany(lengths => Gen.Float[-2f, 2f].Array[(int)Math.Min(Elements(lengths), MaxDenseElements)].Select(values => Make(lengths, values)));

    /// <summary>A small float tensor of a shape drawn around <paramref name="preferred"/> (often exactly it).</summary>
    private static Gen<Tensor<float>> Around(params int[] preferred) =>
        Gen.Frequency(
            (3, (IGen<int[]>)Gen.Const(preferred)),
            (2, Gen.Int[0, preferred.Length - 1].SelectMany(i => Gen.Frequency((3, (IGen<int>)Small), (1, PositiveEdge)).Select(d => preferred.Select((p, j) => j == i ? d : p).ToArray()))),
            (1, Gen.Int[0, 3].SelectMany(extra => Small.Array[extra]).Select(extra => preferred.Concat(extra).ToArray())))
        .Where(SmallOrImpossible)
        .SelectMany(lengths => Elements(lengths) is var n && n <= MaxDenseElements
            ? Gen.Float[-2f, 2f].Array[(int)n].Select(values => Make(lengths, values))
            : Gen.Const(Make(lengths, [0.5f])));

    /// <summary>
    /// PadPackedSequence's totalLength: none, small, negative, or so large that no tensor holds the result (a valid
    /// request for a gigabyte of padding is legitimate work, not a case for this test).
    /// </summary>
    private static readonly Gen<int?> TotalLength = Gen.Frequency(
        (3, (IGen<int?>)Gen.Const<int?>(() => null)), (2, Small.Select(d => (int?)d)), (1, Gen.OneOf<int?>(-1, int.MinValue, int.MaxValue)));

    private static readonly Gen<Case>[] Cases =
    [
        RecurrentConstructors(), CellConstructors(), OtherConstructors(), RecurrentTensorForward(), RecurrentSpanForward(),
        RecurrentPackedForward(), CellForward(), EmbeddingForward(), LinearAndDropoutForward(), Utilities(), Losses(),
        Optimizers(), Backwards(), Checkpoints(), Summaries(), StreamHostCalls(),
    ];

    [Fact]
    public void RandomCallsToEveryEntryPoint_ReturnOrThrowArgumentExceptions()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("RECURRENT_FUZZ_CASES"), out int n) ? n : 3000;
        ulong seed = ulong.TryParse(Environment.GetEnvironmentVariable("RECURRENT_FUZZ_SEED"), out ulong s) ? s : 20261202;
        var pcg = new PCG(1, seed);
        Gen<Case> any = Gen.OneOf(Cases);
        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < count; i++)
        {
            Case c = any.Generate(pcg, null, out _);
            string outcome = Run(c, i, seed);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        string summary = string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}"));
        output.WriteLine($"{count} cases from seed {seed}: {summary}");
        outcomes.GetValueOrDefault("returned").Should().BeGreaterThan(count / 10, "a good share of the calls must be valid ones, so the fuzz reaches the kernels");
        outcomes.Keys.Count(k => k.EndsWith("Exception", StringComparison.Ordinal)).Should().BeGreaterThan(0);
    }

    private static string Run(Case c, int index, ulong seed)
    {
        if (c.Skip)
        {
            return "skipped (valid, but too large to run here)";
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        string outcome;
        try
        {
            c.Call();
            outcome = "returned";
        }
        catch (Exception e) when (e is ArgumentException || (c.AllowInvalidData && e is InvalidDataException) || (c.AllowInvalidOperation && e is InvalidOperationException))
        {
            e.Message.Should().NotBeNullOrWhiteSpace();
            outcome = e.GetType().Name;
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"case {index} (seed {seed}): {c.Text} threw {e.GetType().Name}: {e.Message}", e);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().BeLessThan(AllocationBudget, $"case {index} (seed {seed}): {c.Text} ({outcome}) must not allocate by a dimension it was given");
        return outcome;
    }

    private static Gen<Case> RecurrentConstructors() =>
        Gen.Select(Gen.Int[0, 2], Dim, Dim, Gen.Frequency((4, (IGen<int>)Gen.Int[1, 3]), (1, Edge)), Gen.Bool, Gen.Frequency((3, (IGen<int>)Gen.Const(0)), (1, Dim)), Gen.Frequency((3, (IGen<float>)Gen.Const(0f)), (1, Real)))
            .Select((kind, input, hidden, layers, bidirectional, proj, dropout) =>
            {
                int gates = kind == 0 ? 4 : kind == 1 ? 3 : 1;
                string text = $"new {(kind == 0 ? "Lstm" : kind == 1 ? "Gru" : "Rnn")}({input}, {hidden}, numLayers: {layers}, dropout: {Show(dropout)}, bidirectional: {bidirectional}{(kind == 0 ? $", projSize: {proj}" : "")})";
                int outSize = kind == 0 && proj > 0 ? proj : hidden;
                double directions = bidirectional ? 2 : 1;
                double[] weights = [(double)gates * hidden * Math.Max(input, directions * outSize), (double)gates * hidden * outSize, kind == 0 && proj > 0 ? (double)proj * hidden : 0];
                bool huge = input >= 0 && hidden > 0 && layers > 0 && (proj >= 0 || kind != 0) && weights.All(w => w <= Array.MaxLength)
                    && (Packed(gates, hidden, Math.Max(input, directions * outSize) + outSize) + PerLayerOverhead) * layers * directions > MaxBuiltWeights;
                return new Case(text, () => _ = kind switch
                {
                    0 => (Module)new Lstm(input, hidden, layers, dropout: dropout, bidirectional: bidirectional, projSize: proj, seed: 1),
                    1 => new Gru(input, hidden, layers, dropout: dropout, bidirectional: bidirectional, seed: 1),
                    _ => new Rnn(input, hidden, layers, dropout: dropout, bidirectional: bidirectional, seed: 1),
                })
                { Skip = huge };
            });

    private static Gen<Case> CellConstructors() =>
        Gen.Select(Gen.Int[0, 2], Dim, Dim, Gen.Bool).Select((kind, input, hidden, bias) =>
        {
            int gates = kind == 0 ? 4 : kind == 1 ? 3 : 1;
            double[] weights = [(double)gates * hidden * input, (double)gates * hidden * hidden];
            bool huge = input >= 0 && hidden >= 0 && weights.All(w => w <= Array.MaxLength) && Packed(gates, hidden, (double)input + hidden) > MaxBuiltWeights;
            return new Case($"new {(kind == 0 ? "LstmCell" : kind == 1 ? "GruCell" : "RnnCell")}({input}, {hidden}, bias: {bias})", () => _ = kind switch
            {
                0 => (Module)new LstmCell(input, hidden, bias, seed: 1),
                1 => new GruCell(input, hidden, bias, seed: 1),
                _ => new RnnCell(input, hidden, bias, seed: 1),
            })
            { Skip = huge };
        });

    private static Gen<Case> OtherConstructors() =>
        Gen.Select(Gen.Int[0, 2], Dim, Dim, Gen.Frequency((2, (IGen<int?>)Gen.Const<int?>(() => null)), (1, Dim.Select(d => (int?)d))), Real, Real)
            .Select((kind, a, b, padding, maxNorm, p) =>
            {
                // Linear(a, b) also has a bias of b floats.
                bool huge = a >= 0 && b >= 0 && (double)a * b <= Array.MaxLength && ((double)a * b) + (kind == 1 ? b : 0) > MaxBuiltWeights;
                return kind switch
                {
                    0 => new Case($"new Embedding({a}, {b}, paddingIdx: {padding}, maxNorm: {Show(maxNorm)})", () => _ = new Embedding(a, b, padding, maxNorm, seed: 1)) { Skip = huge },
                    1 => new Case($"new Linear({a}, {b})", () => _ = new Linear(a, b, seed: 1)) { Skip = huge },
                    _ => new Case($"new DropoutLayer({Show(p)})", () => _ = new DropoutLayer(p, seed: 1)),
                };
            });

    private static Gen<Case> RecurrentTensorForward() =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[1, 3], Gen.Int[1, 4], Gen.Bool, Gen.Bool, Gen.Int[0, 2]).SelectMany((kind, input, hidden, bidirectional, batchFirst, layers) =>
        {
            int d = bidirectional ? 2 : 1, states = d * Math.Max(layers, 1);
            return Gen.Select(
                Gen.Frequency((2, (IGen<Tensor<float>>)Around(3, 2, input)), (1, AnyTensor)),
                Gen.Frequency((2, (IGen<Tensor<float>?>)Gen.Const<Tensor<float>?>(() => null)), (2, Around(states, 2, hidden).Select(t => (Tensor<float>?)t)), (1, AnyTensor.Select(t => (Tensor<float>?)t))),
                Gen.Frequency((2, (IGen<Tensor<float>?>)Gen.Const<Tensor<float>?>(() => null)), (2, Around(states, 2, hidden).Select(t => (Tensor<float>?)t)), (1, AnyTensor.Select(t => (Tensor<float>?)t))),
                Gen.Bool,
                Gen.Frequency((4, (IGen<WeightPrecision>)Gen.Const(WeightPrecision.Float32)), (1, Gen.Const(WeightPrecision.BFloat16)), (1, Gen.Const(WeightPrecision.Int8))))
            .Select((x, h0, c0, train, precision) =>
            {
                int numLayers = Math.Max(layers, 1);
                bool quantized = precision != WeightPrecision.Float32;
                string text = $"{Name(kind)}({input}, {hidden}, {numLayers}, bidirectional: {bidirectional}, batchFirst: {batchFirst}){(train ? ".Train()" : ".Eval()")}{(quantized ? $".Quantize({precision})" : "")}.Forward({Describe(x)}, {Describe(h0)}, {Describe(c0)})";
                return new Case(text, () =>
                {
                    switch (kind)
                    {
                        case 0:
                            Lstm lstm = new Lstm(input, hidden, numLayers, batchFirst: batchFirst, bidirectional: bidirectional, seed: 1).Train(train);
                            (quantized ? lstm.Quantize(precision) : lstm).Forward(x, h0, c0);
                            break;
                        case 1:
                            Gru gru = new Gru(input, hidden, numLayers, batchFirst: batchFirst, bidirectional: bidirectional, seed: 1).Train(train);
                            (quantized ? gru.Quantize(precision) : gru).Forward(x, h0);
                            break;
                        default:
                            Rnn rnn = new Rnn(input, hidden, numLayers, batchFirst: batchFirst, bidirectional: bidirectional, seed: 1).Train(train);
                            (quantized ? rnn.Quantize(precision) : rnn).Forward(x, h0);
                            break;
                    }
                });
            });
        });

    /// <summary>A stream host over a small layer: chunks of any length and values (NaN, wrong widths), snapshots of any size, any options.</summary>
    private static Gen<Case> StreamHostCalls() =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[1, 3], Gen.Int[1, 4], Gen.Frequency((5, (IGen<bool>)Gen.Const(false)), (1, Gen.Const(true))), Gen.Frequency((5, (IGen<int>)Gen.Int[1, 4]), (1, Dim)))
            .SelectMany((kind, input, hidden, bidirectional, maxSteps) =>
                Gen.Select(Real.Array[0, 16], Gen.Frequency((4, (IGen<float[]?>)Gen.Const<float[]?>(() => null)), (1, Real.Array[0, 12].Select(a => (float[]?)a)))).Select((chunk, state) =>
                {
                    string text = $"new StreamHost({Name(kind)}({input}, {hidden}, bidirectional: {bidirectional}), MaxChunkSteps = {maxSteps}).Open({(state is null ? "" : $"{state.Length} floats")}).SubmitAsync({chunk.Length} floats)";
                    return new Case(text, () =>
                    {
                        RnnBase model = kind switch
                        {
                            0 => new Lstm(input, hidden, bidirectional: bidirectional, seed: 1),
                            1 => new Gru(input, hidden, bidirectional: bidirectional, seed: 1),
                            _ => new Rnn(input, hidden, bidirectional: bidirectional, seed: 1),
                        };
                        using var host = new Recurrent.Streaming.StreamHost(model.Eval(), new Recurrent.Streaming.StreamHostOptions { MaxChunkSteps = maxSteps });
                        using Recurrent.Streaming.StreamSession stream = state is null ? host.Open() : host.Open(state);
                        float[] output = stream.SubmitAsync(chunk).AsTask().GetAwaiter().GetResult();
                        output.Length.Should().Be(chunk.Length / input * host.OutputSize);
                    });
                }));

    private static Gen<Case> RecurrentSpanForward() =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[1, 3], Gen.Int[1, 4], Gen.Bool, Gen.Bool).SelectMany((kind, input, hidden, bidirectional, batchFirst) =>
            Gen.Select(Dim, Dim, Gen.Frequency((4, (IGen<int>)Gen.Const(input)), (1, Dim)), Gen.Bool, Gen.Int[0, 3]).SelectMany((seq, batch, features, unbatched, wrong) =>
            {
                var shape = new SequenceShape(seq, batch, features, batchFirst && !unbatched, unbatched);
                int d = bidirectional ? 2 : 1;
                long rows = (long)seq * batch;
                int Exact(long count) => count is >= 0 and <= MaxDenseElements ? (int)count : 3;
                return Gen.Select(Gen.Int[-1, 1], Gen.Int[-1, 1], Gen.Int[-1, 1]).Select((dx, dOut, dH) =>
                {
                    // Usually the exact lengths the shape needs (so some calls run), sometimes one more or one fewer.
                    float[] x = new float[Math.Max(0, Exact(rows * features) + (wrong == 0 ? dx : 0))];
                    float[] output = new float[Math.Max(0, Exact(rows * d * hidden) + (wrong == 1 ? dOut : 0))];
                    float[] hN = new float[Math.Max(0, Exact((long)d * batch * hidden) + (wrong == 2 ? dH : 0))];
                    float[] cN = new float[hN.Length];
                    string text = $"{Name(kind)}({input}, {hidden}, bidirectional: {bidirectional}).Forward(span {x.Length}, {shape.ToString()}, output {output.Length}, hN {hN.Length})";
                    return new Case(text, () =>
                    {
                        switch (kind)
                        {
                            case 0:
                                new Lstm(input, hidden, bidirectional: bidirectional, seed: 1).Eval().Forward(x, shape, default, default, output, hN, cN);
                                break;
                            case 1:
                                new Gru(input, hidden, bidirectional: bidirectional, seed: 1).Eval().Forward(x, shape, default, output, hN);
                                break;
                            default:
                                new Rnn(input, hidden, bidirectional: bidirectional, seed: 1).Eval().Forward(x, shape, default, output, hN);
                                break;
                        }
                    });
                });
            }));

    private static Gen<Case> RecurrentPackedForward() =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[1, 3], Dim.Array[0, 4], Gen.Bool, Gen.Bool, Gen.Bool).SelectMany((kind, input, lengths, batchFirst, enforceSorted, bidirectional) =>
            Around(5, lengths.Length, input).Select(padded =>
            {
                string text = $"{Name(kind)}({input}, 3, bidirectional: {bidirectional}).Forward(PackPaddedSequence({Describe(padded)}, [{string.Join(", ", lengths)}], batchFirst: {batchFirst}, enforceSorted: {enforceSorted}))";
                return new Case(text, () =>
                {
                    PackedSequence packed = RnnUtils.PackPaddedSequence(padded, lengths, batchFirst, enforceSorted);
                    switch (kind)
                    {
                        case 0:
                            new Lstm(input, 3, bidirectional: bidirectional, seed: 1).Forward(packed);
                            break;
                        case 1:
                            new Gru(input, 3, bidirectional: bidirectional, seed: 1).Forward(packed);
                            break;
                        default:
                            new Rnn(input, 3, bidirectional: bidirectional, seed: 1).Forward(packed);
                            break;
                    }
                });
            }));

    private static Gen<Case> CellForward() =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[1, 4], Gen.Int[0, 4], Gen.Bool).SelectMany((kind, input, hidden, span) =>
            Gen.Select(
                Gen.Frequency((3, (IGen<Tensor<float>>)Around(2, input)), (1, Around(input)), (1, AnyTensor)),
                Gen.Frequency((2, (IGen<Tensor<float>?>)Gen.Const<Tensor<float>?>(() => null)), (2, Around(2, hidden).Select(t => (Tensor<float>?)t)), (1, AnyTensor.Select(t => (Tensor<float>?)t))),
                Dim)
            .Select((x, h, batch) =>
            {
                if (span)
                {
                    float[] xs = x.IsDense ? T.Values(x) : new float[7];
                    float[] hs = new float[Math.Max(0, (int)Math.Min((long)batch * hidden, 64))];
                    return new Case($"{Name(kind)}Cell({input}, {hidden}).Forward(span {xs.Length}, batch {batch}, h {hs.Length})", () =>
                    {
                        switch (kind)
                        {
                            case 0:
                                new LstmCell(input, hidden, seed: 1).Forward(xs, batch, hs, hs, new float[hs.Length], new float[hs.Length]);
                                break;
                            case 1:
                                new GruCell(input, hidden, seed: 1).Forward(xs, batch, hs, new float[hs.Length]);
                                break;
                            default:
                                new RnnCell(input, hidden, seed: 1).Forward(xs, batch, hs, new float[hs.Length]);
                                break;
                        }
                    });
                }

                return new Case($"{Name(kind)}Cell({input}, {hidden}).Forward({Describe(x)}, {Describe(h)}, {Describe(h)})", () =>
                {
                    switch (kind)
                    {
                        case 0:
                            new LstmCell(input, hidden, seed: 1).Forward(x, h, h);
                            break;
                        case 1:
                            new GruCell(input, hidden, seed: 1).Forward(x, h);
                            break;
                        default:
                            new RnnCell(input, hidden, seed: 1).Forward(x, h);
                            break;
                    }
                });
            }));

    private static Gen<Case> EmbeddingForward() =>
        Gen.Select(Gen.Int[0, 6], Gen.Int[0, 4], Gen.Bool, Gen.Frequency((3, (IGen<float?>)Gen.Const<float?>(() => null)), (1, Real.Select(r => (float?)r))), Real)
            .SelectMany((rows, dim, asLong, maxNorm, normType) =>
                Gen.Int[1, 3].SelectMany(rank => Gen.Frequency((9, (IGen<int>)Gen.Int[0, 3]), (1, PositiveEdge)).Array[rank])
                    .SelectMany(lengths => Gen.Frequency((8, (IGen<int>)Gen.Int[0, Math.Max(rows - 1, 0)]), (1, Edge)).Array[(int)Math.Min(Elements(lengths), MaxDenseElements)]
                        .Select(values => (lengths, values)))
                    .Where(p => SmallOrImpossible(p.lengths))
                    .Select(p =>
                    {
                        string text = $"new Embedding({rows}, {dim}, maxNorm: {Show(maxNorm)}, normType: {Show(normType)}).Forward({(asLong ? "long" : "int")} {ShapeText(p.lengths)} [{string.Join(", ", p.values.Take(6))}…])";
                        return new Case(text, () =>
                        {
                            var embedding = new Embedding(rows, dim, maxNorm: maxNorm, normType: normType, seed: 1);
                            nint[] n = p.lengths.Select(l => (nint)l).ToArray();
                            bool dense = Elements(p.lengths) <= MaxDenseElements;
                            if (asLong)
                            {
                                long[] values = dense ? p.values.Select(v => (long)v).ToArray() : [long.MaxValue];
                                embedding.Forward(dense ? Tensor.Create(values, n) : Tensor.Create(values, n, new nint[n.Length]));
                            }
                            else
                            {
                                int[] values = dense ? p.values : [0];
                                embedding.Forward(dense ? Tensor.Create(values, n) : Tensor.Create(values, n, new nint[n.Length]));
                            }
                        });
                    }));

    private static Gen<Case> LinearAndDropoutForward() =>
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 4], Gen.Frequency((3, (IGen<Tensor<float>>)AnyTensor), (2, Around(3, 2))), Real, Gen.Bool)
            .Select((inFeatures, outFeatures, x, p, dropout) => dropout
                ? new Case($"new DropoutLayer({Show(p)}).Forward({Describe(x)})", () => new DropoutLayer(p, seed: 1).Forward(x))
                : new Case($"new Linear({inFeatures}, {outFeatures}).Forward({Describe(x)})", () => new Linear(inFeatures, outFeatures, seed: 1).Forward(x))
                {
                    // With in_features 0 an empty input gives a full output (the bias in every row), as in PyTorch.
                    Skip = x.Rank > 0 && x.Lengths[^1] == inFeatures && ValidLargeOutput(x.Lengths[..^1].ToArray().Aggregate(1.0, (n, l) => n * l) * outFeatures),
                });

    private static Gen<Case> Utilities() =>
        Gen.Select(Gen.Int[0, 6], AnyTensor.Array[0, 3], Dim.Array[0, 4], Gen.Bool, Gen.Bool, TotalLength)
            .SelectMany((which, tensors, ints, batchFirst, enforceSorted, totalLength) => Around(4, Math.Max(ints.Length, 1), 2).Select(padded =>
            {
                string args = $"{Describe(padded)}, [{string.Join(", ", ints)}], batchFirst: {batchFirst}";
                string list = string.Join(", ", tensors.Select(Describe));
                return which switch
                {
                    0 => new Case($"PackPaddedSequence({args}, enforceSorted: {enforceSorted}) then PadPackedSequence(totalLength: {totalLength})", () =>
                        RnnUtils.PadPackedSequence(RnnUtils.PackPaddedSequence(padded, ints, batchFirst, enforceSorted), batchFirst, 0f, totalLength)),
                    1 => new Case($"PadSequence([{list}], batchFirst: {batchFirst})", () => RnnUtils.PadSequence(tensors, batchFirst, 0f, enforceSorted ? PaddingSide.Left : PaddingSide.Right)),
                    2 => new Case($"PackSequence([{list}], enforceSorted: {enforceSorted}) then UnpackSequence", () => RnnUtils.UnpackSequence(RnnUtils.PackSequence(tensors, enforceSorted))),
                    3 => new Case($"UnpadSequence({args})", () => RnnUtils.UnpadSequence(padded, ints, batchFirst)),
                    4 => new Case($"InvertPermutation([{string.Join(", ", ints)}])", () => RnnUtils.InvertPermutation(ints)),
                    5 => new Case($"new PackedSequence({Describe(padded)}, batchSizes [{string.Join(", ", ints)}]) then PadPackedSequence(totalLength: {totalLength})", () =>
                        RnnUtils.PadPackedSequence(new PackedSequence(tensors.Length > 0 ? tensors[0] : padded, ints), batchFirst, 0f, totalLength)),
                    _ => new Case($"SequenceShape.Of({Describe(padded)}).ToString()", () => SequenceShape.Of(padded, batchFirst).ToString()),
                };
            }));

    private static Gen<Case> Losses() =>
        Gen.Select(Gen.Frequency((2, (IGen<Tensor<float>>)Around(3, 4)), (1, AnyTensor)), Gen.Frequency((4, (IGen<int>)Gen.Int[0, 3]), (1, Edge)).Array[0, 5], Dim, AnyTensor, Gen.Bool)
            .Select((logits, targets, ignoreIndex, other, mse) => mse
                ? new Case($"MseLoss({Describe(logits)}, {Describe(other)})", () => Loss.MseLoss(logits, other))
                : new Case($"CrossEntropy({Describe(logits)}, [{string.Join(", ", targets)}], ignoreIndex: {ignoreIndex})", () => Loss.CrossEntropy(logits, targets, ignoreIndex)));

    private static Gen<Case> Optimizers() =>
        Gen.Select(Gen.Int[0, 3], Real, Real, Real, Real, Gen.Bool)
            .Select((which, lr, a, b, c, flag) =>
            {
                string text = $"{(which == 0 ? "Sgd" : which == 1 ? "Adam" : which == 2 ? "AdamW" : "ClipGradNorm")}(lr/maxNorm {Show(lr)}, {Show(a)}, {Show(b)}, {Show(c)}, {flag}) then Step";
                return new Case(text, () =>
                {
                    var linear = new Linear(3, 2, seed: 1);
                    linear.Backward(Loss.MseLoss(linear.Forward(T.Random(1, 1f, 4, 3)), T.Zeros(4, 2)).Gradient);
                    switch (which)
                    {
                        case 0:
                            new Sgd(linear.Parameters(), lr, momentum: a, dampening: b, weightDecay: c, nesterov: flag).Step();
                            break;
                        case 1:
                            new Adam(linear.Parameters(), lr, a, b, c, amsgrad: flag).Step();
                            break;
                        case 2:
                            new AdamW(linear.Parameters(), lr, a, b, c, amsgrad: flag).Step();
                            break;
                        default:
                            GradClip.ClipGradNorm(linear.Parameters(), lr, a);
                            break;
                    }
                });
            });

    private static Gen<Case> Backwards() =>
        Gen.Select(Gen.Int[0, 3], AnyTensor, Gen.Bool).Select((kind, grad, forwardFirst) =>
        {
            string text = $"{(kind == 0 ? "Lstm(2, 3)" : kind == 1 ? "Gru(2, 3)" : kind == 2 ? "GruCell(2, 3)" : "Linear(2, 3)")}{(forwardFirst ? ".Forward((4, 2, 2))" : "")}.Backward({Describe(grad)})";
            return new Case(text, () =>
            {
                Tensor<float> x = T.Random(2, 1f, 4, 2, 2);
                switch (kind)
                {
                    case 0:
                        var lstm = new Lstm(2, 3, seed: 1);
                        if (forwardFirst)
                        {
                            lstm.Forward(x);
                        }

                        lstm.Backward(grad);
                        break;
                    case 1:
                        var gru = new Gru(2, 3, seed: 1);
                        if (forwardFirst)
                        {
                            gru.Forward(x);
                        }

                        gru.Backward(grad);
                        break;
                    case 2:
                        var cell = new GruCell(2, 3, seed: 1);
                        if (forwardFirst)
                        {
                            cell.Forward(T.Random(3, 1f, 2, 2));
                        }

                        cell.Backward(grad);
                        break;
                    default:
                        var linear = new Linear(2, 3, seed: 1);
                        if (forwardFirst)
                        {
                            linear.Forward(x);
                        }

                        linear.Backward(grad);
                        break;
                }
            })
            { AllowInvalidOperation = !forwardFirst };
        });

    /// <summary>ModelSummary over a random chain of small modules and a random input shape (sizes near int.MaxValue included).</summary>
    private static Gen<Case> Summaries() =>
        Gen.Select(Gen.Int[0, 6].Array[1, 3], Dim.Array[0, 4], Gen.Bool).Select((kinds, shape, batchFirst) =>
        {
            string[] names = ["Embedding(9, 4)", "Lstm(4, 3)", "Gru(3, 4)", "LstmCell(4, 3)", "Linear(3, 4)", "Dropout", "Rnn(4, 4, bidirectional)"];
            return new Case($"ModelSummary.Of([{string.Join(", ", kinds.Select(k => names[k]))}], batchFirst: {batchFirst}, [{string.Join(", ", shape)}])", () =>
            {
                Module[] chain = kinds.Select(k => k switch
                {
                    0 => (Module)new Embedding(9, 4, seed: 1),
                    1 => new Lstm(4, 3, batchFirst: batchFirst, seed: 1),
                    2 => new Gru(3, 4, batchFirst: batchFirst, seed: 1),
                    3 => new LstmCell(4, 3, seed: 1),
                    4 => new Linear(3, 4, seed: 1),
                    5 => new DropoutLayer(0.1f),
                    _ => new Rnn(4, 4, bidirectional: true, batchFirst: batchFirst, seed: 1),
                }).ToArray();
                _ = ModelSummary.Of(chain, shape).ToString();
            });
        });

    /// <summary>A valid checkpoint (both formats) with random bytes overwritten or the file cut short.</summary>
    private static Gen<Case> Checkpoints() =>
        Gen.Select(Gen.Bool, Gen.Int[0, 8], Gen.Int[0, int.MaxValue], Gen.Bool).Select((safetensors, flips, where, truncate) =>
        {
            byte[] file = safetensors ? ValidSafetensors.Value : ValidPt.Value;
            var random = new Random(where);
            byte[] bytes = truncate ? file[..random.Next(file.Length)] : (byte[])file.Clone();
            for (int i = 0; i < flips && bytes.Length > 0; i++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            return new Case($"StateDict.Load({(safetensors ? "safetensors" : ".pt")} of {bytes.Length} bytes, {flips} bytes changed from seed {where}{(truncate ? ", truncated" : "")})", () =>
            {
                using var stream = new MemoryStream(bytes);
                StateDict.Load(stream);
            })
            { AllowInvalidData = true };
        });

    private static readonly Lazy<byte[]> ValidPt = new(() => Saved(".pt"));

    private static readonly Lazy<byte[]> ValidSafetensors = new(() => Saved(".safetensors"));

    private static byte[] Saved(string extension)
    {
        string path = Path.Combine(Path.GetTempPath(), $"recurrent-fuzz-{Guid.NewGuid():N}{extension}");
        try
        {
            StateDict.Save(path, new Lstm(2, 3, seed: 1).StateDict());
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The floats of a layer's packed weights: hidden units are padded to whole panels (16 for LSTM, 64 for GRU and RNN),
    /// so a tiny hidden_size with a huge input costs far more than its weights.
    /// </summary>
    private static double Packed(int gates, int hidden, double k) => gates * Math.Ceiling(hidden / (gates == 4 ? 16.0 : 64.0)) * (gates == 4 ? 16 : 64) * k;

    private static string Name(int kind) => kind == 0 ? "Lstm" : kind == 1 ? "Gru" : "Rnn";

    /// <summary>
    /// Small enough to run at once, or more elements than an array holds (to be refused): a valid input of millions of
    /// elements is legitimate work, not a case for this test.
    /// </summary>
    private static bool SmallOrImpossible(int[] lengths) =>
        lengths.Aggregate(1.0, (n, l) => n * l) is var n && (n <= MaxDenseElements || (n > Array.MaxLength && n < 1e18));

    private static bool ValidLargeOutput(double elements) => elements > MaxDenseElements && elements <= Array.MaxLength;

    private static long Elements(int[] lengths) => lengths.Aggregate(1L, (n, l) => n > Array.MaxLength ? n : n * l);

    private static Tensor<float> Make(int[] lengths, float[] values)
    {
        nint[] n = lengths.Select(l => (nint)l).ToArray();
        long count = Elements(lengths);
        return count <= MaxDenseElements && values.Length == count
            ? Tensor.Create(values, n)
            : Tensor.Create(values.Length > 0 ? values[..1] : [0.5f], n, new nint[n.Length]);
    }

    private static string ShapeText(int[] lengths) => "(" + string.Join(", ", lengths) + ")";

    private static string Describe(Tensor<float>? t) =>
        t is null ? "null" : "(" + string.Join(", ", t.Lengths.ToArray()) + ")" + (t.IsDense ? "" : " broadcast");

    private static string Show(float? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "null";

    /// <summary>One call: its text for the report, the call, and which exceptions besides ArgumentException it may give.</summary>
    private sealed record Case(string Text, Action Call)
    {
        public bool Skip { get; init; }

        public bool AllowInvalidData { get; init; }

        public bool AllowInvalidOperation { get; init; }

        public override string ToString() => Text;
    }
}
