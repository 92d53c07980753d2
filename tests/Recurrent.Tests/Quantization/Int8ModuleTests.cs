using System;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Threading.Tasks;
using FluentAssertions;
using Recurrent.Streaming;
using Recurrent.Tests.Properties;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Quantization;

/// <summary>
/// int8 copies: the same bits on every path and at every thread count; each row independent of the batch it runs in
/// (a row's activations are quantized on their own); close to the float module; saved as I8 integers with float32
/// scales and loaded back exactly; refusals.
/// </summary>
[Collection(nameof(ThreadSettings))]
public sealed class Int8ModuleTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("recurrent-int8-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [MemberData(nameof(QuantizedModuleTests.Kinds), MemberType = typeof(QuantizedModuleTests))]
    public void Int8Copy_SameBitsAtEveryThreadCount_AndEachRowAsIfAlone(string kind)
    {
        RnnBase source = Make(kind);
        RnnBase q = Quantize(source);
        q.Precision.Should().Be(WeightPrecision.Int8);
        q.ToString().Should().Be(source.ToString());
        int d = source.Bidirectional ? 2 : 1, states = d * source.NumLayers, batch = 5, seq = 6;
        Tensor<float> x = T.Random(3, 1f, source.BatchFirst ? [batch, seq, source.InputSize] : [seq, batch, source.InputSize]);
        Tensor<float> h0 = T.Random(4, 0.5f, states, batch, source.Spec.OutputSize);
        int saved = Parallelism.NumThreads;
        try
        {
            Parallelism.NumThreads = 1;
            float[] one = Output(q, x, h0);
            Parallelism.NumThreads = 2;
            Bits(Output(q, x, h0)).Should().Equal(Bits(one), "two threads");

            // Every row of the batch equals that sequence run alone (batch 1), bit for bit.
            float[] batched = one;
            for (int b = 0; b < batch; b++)
            {
                Tensor<float> xb = Row(x, b, source.BatchFirst ? 0 : 1), hb = Row(h0, b, 1);
                float[] alone = Output(q, xb, hb);
                for (int t = 0; t < seq; t++)
                {
                    int width = d * source.Spec.OutputSize;
                    int at = source.BatchFirst ? ((b * seq) + t) * width : ((t * batch) + b) * width;
                    Bits(batched.AsSpan(at, width).ToArray()).Should().Equal(Bits(alone.AsSpan(t * width, width).ToArray()), $"{kind}: row {b}, step {t}");
                }
            }
        }
        finally
        {
            Parallelism.NumThreads = saved;
        }

        // Close to the float module (unit-scale input): the int8 rounding of weights and activations.
        float[] want = Output(source.Eval(), x, h0), got = Output(q, x, h0);
        want.Zip(got, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(3e-2f).And.BeGreaterThan(0f);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void PackedBatchSharedByRows_SameBitsAtOneAndTwoThreads(string kind)
    {
        // 24 rows: two workers share the batch by rows, and as the packed batch shrinks the second one's share empties.
        const int batch = 24, seq = 9;
        RnnBase q = Quantize(kind == "lstm" ? new Lstm(16, 64, seed: 5) : new Gru(16, 64, seed: 5));
        int[] lengths = [.. Enumerable.Range(0, batch).Select(b => 1 + ((b * 7) % seq))];
        PackedSequence x = RnnUtils.PackPaddedSequence(T.Random(9, 1f, seq, batch, 16), lengths, enforceSorted: false);
        float[] Run(int threads)
        {
            int saved = Parallelism.NumThreads;
            Parallelism.NumThreads = threads;
            try
            {
                return q switch
                {
                    Lstm l => [.. l.Forward(x) is var o ? T.Values(o.Output.Data).Concat(T.Values(o.HN)).Concat(T.Values(o.CN)) : []],
                    Gru g => [.. g.Forward(x) is var o ? T.Values(o.Output.Data).Concat(T.Values(o.HN)) : []],
                    _ => throw new InvalidOperationException(),
                };
            }
            finally
            {
                Parallelism.NumThreads = saved;
            }
        }

        Bits(Run(2)).Should().Equal(Bits(Run(1)));
    }

    [Fact]
    public void Int8Copy_HoldsAQuarterOfTheBytes_IsInferenceOnly_AndRefusesNonFiniteWeights()
    {
        var source = new Lstm(64, 128, numLayers: 2, seed: 4);
        Lstm q = source.Quantize(WeightPrecision.Int8);
        q.Parameters().Should().BeEmpty();
        long packedFloat = source.WeightBytes - source.Parameters().Sum(p => (long)p.Values.Length * sizeof(float));
        long biases = 2 * 4 * 128 * sizeof(float);
        long perRow = 2 * 2 * 4 * 128 * (sizeof(float) + sizeof(int));
        ((double)(q.WeightBytes - biases - perRow) / (packedFloat - biases)).Should().Be(0.25, "int8 panels are a quarter of the float32 panels, plus a scale and a weight sum per row");

        q.Train();
        LstmOutput y = q.Forward(T.Random(1, 1f, 3, 2, 64));
        q.Invoking(m => m.Backward(y.Output)).Should().Throw<InvalidOperationException>().WithMessage("*Int8 weights: a quantized module is inference-only*");
        q.Invoking(m => m.Quantize(WeightPrecision.Int8)).Should().Throw<InvalidOperationException>().WithMessage("*is already quantized*");

        var broken = new Gru(3, 4, seed: 5);
        var state = broken.StateDict();
        float[] whh = T.Values(state["weight_hh_l0"]);
        whh[5] = float.NaN;
        state["weight_hh_l0"] = Tensor.Create(whh, state["weight_hh_l0"].Lengths);
        broken.LoadStateDict(state);
        broken.Invoking(m => m.Quantize(WeightPrecision.Int8)).Should().Throw<ArgumentException>().WithMessage("weight_hh_l0 holds NaN or infinity*");
    }

    [Theory]
    [InlineData("lstm-proj-bi")]
    [InlineData("gru-bi-2")]
    [InlineData("rnn-relu")]
    public void SavedAndLoaded_IntoAFreshCopy_GivesTheSameBits_AsI8IntegersAndScales(string kind)
    {
        RnnBase source = Make(kind);
        RnnBase q = Quantize(source);
        string path = Path.Combine(_folder, kind + ".safetensors");
        q.SaveQuantized(path);

        RnnBase fresh = Quantize(Make(kind, seed: 99));
        Tensor<float> x = T.Random(3, 1f, source.BatchFirst ? [2, 5, source.InputSize] : [5, 2, source.InputSize]);
        Output(fresh, x, null).Should().NotEqual(Output(q, x, null));
        fresh.LoadQuantized(path);
        Bits(Output(fresh, x, null)).Should().Equal(Bits(Output(q, x, null)));

        // The file: PyTorch's keys, each weight followed by its scales; weights I8 within [-127, 127] whose q · scale is
        // within half a step of the float weight; scales and biases F32.
        var written = StateDict.Load(path);
        JsonElement header = QuantizedCheckpointTests.Header(path);
        header.GetProperty("__metadata__").GetProperty("recurrent.weights").GetString().Should().Be("Int8");
        var floats = source.StateDict();
        written.Keys.Where(k => !k.EndsWith("_scale", StringComparison.Ordinal)).Should().Equal(floats.Keys);
        long data = 0;
        foreach ((string key, Tensor<float> value) in floats)
        {
            bool weight = key.StartsWith("weight_", StringComparison.Ordinal);
            header.GetProperty(key).GetProperty("dtype").GetString().Should().Be(weight ? "I8" : "F32");
            data += value.FlattenedLength * (weight ? 1L : 4L);
            if (!weight)
            {
                T.Values(written[key]).Should().Equal(T.Values(value), key);
                continue;
            }

            float[] ints = T.Values(written[key]), scales = T.Values(written[key + "_scale"]), w = T.Values(value);
            header.GetProperty(key + "_scale").GetProperty("dtype").GetString().Should().Be("F32");
            data += scales.Length * 4L;
            int k = w.Length / scales.Length;
            for (int i = 0; i < w.Length; i++)
            {
                ints[i].Should().BeInRange(-127f, 127f);
                Math.Abs((ints[i] * scales[i / k]) - w[i]).Should().BeLessThanOrEqualTo(scales[i / k] * 0.5001f, $"{key}[{i}]");
            }
        }

        long headerBytes = 8 + (long)BitConverter.ToUInt64(File.ReadAllBytes(path), 0);
        (new FileInfo(path).Length - headerBytes).Should().Be(data, "one byte a weight, four a scale or a bias");
    }

    [Fact]
    public void AFloat32Checkpoint_LoadsQuantized_AsQuantizingTheFloatModuleWould_AndBadFilesAreRefused()
    {
        var source = new Lstm(6, 10, numLayers: 2, seed: 2);
        string floatPath = Path.Combine(_folder, "float.safetensors");
        StateDict.Save(floatPath, source.StateDict());
        Lstm q = new Lstm(6, 10, numLayers: 2, seed: 3).Quantize(WeightPrecision.Int8);
        q.LoadQuantized(floatPath);
        Tensor<float> x = T.Random(4, 1f, 3, 2, 6);
        Bits(Output(q, x, null)).Should().Equal(Bits(Output(source.Quantize(WeightPrecision.Int8), x, null)));

        // An int8 file with a weight out of range, a negative scale, or a missing scale: refused, the weights kept.
        string good = Path.Combine(_folder, "good.safetensors");
        q.SaveQuantized(good);
        float[] before = Output(q, x, null);
        foreach ((string key, Func<float[], float[]> change, string message) in new (string, Func<float[], float[]>, string)[]
        {
            ("weight_hh_l1", v => [.. v.Select((e, i) => i == 3 ? 200f : e)], "weight_hh_l1[0, 3] is 200: int8 weights here are integers in [-127, 127]*"),
            ("weight_ih_l0_scale", v => [.. v.Select((e, i) => i == 2 ? -1f : e)], "weight_ih_l0_scale[2] is -1: an int8 scale is finite and not negative*"),
        })
        {
            var state = StateDict.Load(good);
            state[key] = Tensor.Create(change(T.Values(state[key])), state[key].Lengths);
            string bad = Path.Combine(_folder, "bad.safetensors");
            StateDict.Save(bad, state);
            q.Invoking(m => m.LoadQuantized(bad)).Should().Throw<ArgumentException>().WithMessage(message);
            Output(q, x, null).Should().Equal(before);
        }

        var missing = StateDict.Load(good);
        missing.Remove("weight_hh_l0_scale");
        string partial = Path.Combine(_folder, "partial.safetensors");
        StateDict.Save(partial, missing);
        q.Invoking(m => m.LoadQuantized(partial)).Should().Throw<ArgumentException>().WithMessage("*Missing key(s) in state_dict: \"weight_hh_l0_scale\"*");
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn")]
    public void Int8Cell_EqualsTheInt8LayerOfTheSameWeights_OneStep(string kind)
    {
        Tensor<float> x = T.Random(1, 1f, 4, 9), h = T.Random(2, 0.5f, 4, 24), c = T.Random(3, 0.5f, 4, 24);
        float[] cell, layer;
        switch (kind)
        {
            case "lstm":
                {
                    var source = new LstmCell(9, 24, seed: 1);
                    var module = new Lstm(9, 24, seed: 2);
                    module.LoadStateDict(source.StateDict().ToDictionary(e => e.Key + "_l0", e => e.Value));
                    LstmCellOutput o = source.Quantize(WeightPrecision.Int8).Forward(x, h, c);
                    cell = [.. T.Values(o.H), .. T.Values(o.C)];
                    LstmOutput m = module.Quantize(WeightPrecision.Int8).Forward(Unsqueeze(x), Unsqueeze(h), Unsqueeze(c));
                    layer = [.. T.Values(m.HN), .. T.Values(m.CN)];
                    break;
                }

            case "gru":
                {
                    var source = new GruCell(9, 24, seed: 1);
                    var module = new Gru(9, 24, seed: 2);
                    module.LoadStateDict(source.StateDict().ToDictionary(e => e.Key + "_l0", e => e.Value));
                    cell = T.Values(source.Quantize(WeightPrecision.Int8).Forward(x, h));
                    layer = T.Values(module.Quantize(WeightPrecision.Int8).Forward(Unsqueeze(x), Unsqueeze(h)).HN);
                    break;
                }

            default:
                {
                    var source = new RnnCell(9, 24, seed: 1);
                    var module = new Rnn(9, 24, seed: 2);
                    module.LoadStateDict(source.StateDict().ToDictionary(e => e.Key + "_l0", e => e.Value));
                    cell = T.Values(source.Quantize(WeightPrecision.Int8).Forward(x, h));
                    layer = T.Values(module.Quantize(WeightPrecision.Int8).Forward(Unsqueeze(x), Unsqueeze(h)).HN);
                    break;
                }
        }

        Bits(cell).Should().Equal(Bits(layer));
    }

    [Fact]
    public async Task StreamHost_ServesAnInt8Model_Exactly()
    {
        Lstm q = new Lstm(4, 16, numLayers: 2, seed: 6).Eval().Quantize(WeightPrecision.Int8);
        using var host = new StreamHost(q);
        using StreamSession a = host.Open(), b = host.Open();
        float[] xa = T.Values(T.Random(7, 1f, 5, 4)), xb = T.Values(T.Random(8, 1f, 3, 4));
        Task<float[]> ya = a.SubmitAsync(xa).AsTask(), yb = b.SubmitAsync(xb).AsTask();
        Bits(await ya).Should().Equal(Bits(T.Values(q.Forward(Tensor.Create(xa, [5, 4])).Output)));
        Bits(await yb).Should().Equal(Bits(T.Values(q.Forward(Tensor.Create(xb, [3, 4])).Output)));
    }

    private static Tensor<float> Unsqueeze(Tensor<float> t) => Tensor.Create(T.Values(t), [1, .. t.Lengths]);

    /// <summary>Index <paramref name="b"/> of dimension <paramref name="dim"/> (0 or 1) of a rank-3 tensor, kept as a dimension of 1.</summary>
    private static Tensor<float> Row(Tensor<float> t, int b, int dim)
    {
        int d0 = (int)t.Lengths[0], d1 = (int)t.Lengths[1], d2 = (int)t.Lengths[2];
        float[] v = T.Values(t);
        if (dim == 0)
        {
            return Tensor.Create(v.AsSpan(b * d1 * d2, d1 * d2).ToArray(), [1, d1, d2]);
        }

        float[] r = new float[d0 * d2];
        for (int i = 0; i < d0; i++)
        {
            v.AsSpan(((i * d1) + b) * d2, d2).CopyTo(r.AsSpan(i * d2));
        }

        return Tensor.Create(r, [d0, 1, d2]);
    }

    private static RnnBase Make(string kind, int seed = 1) => QuantizedModuleTests.Make(kind, seed);

    private static RnnBase Quantize(RnnBase m) => QuantizedModuleTests.Quantize(m, WeightPrecision.Int8);

    private static float[] Output(RnnBase m, Tensor<float> x, Tensor<float>? h0) => m switch
    {
        Lstm l => [.. l.Forward(x, h0) is var o ? T.Values(o.Output).Concat(T.Values(o.HN)).Concat(T.Values(o.CN)) : []],
        Gru g => [.. g.Forward(x, h0) is var o ? T.Values(o.Output).Concat(T.Values(o.HN)) : []],
        Rnn r => [.. r.Forward(x, h0) is var o ? T.Values(o.Output).Concat(T.Values(o.HN)) : []],
        _ => throw new InvalidOperationException(),
    };

    private static int[] Bits(float[] values) => QuantizedModuleTests.Bits(values);
}
