using System;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Recurrent.Kernels.Formats;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Quantization;

/// <summary>A quantized copy saved as safetensors (BF16 weights, F32 biases) and loaded back without the float module.</summary>
public sealed class QuantizedCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("recurrent-quantized-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("lstm-proj-bi")]
    [InlineData("gru-2")]
    [InlineData("rnn-relu-nobias")]
    public void SavedAndLoaded_IntoAFreshCopy_GivesTheSameBits(string kind)
    {
        RnnBase source = Make(kind, seed: 1);
        RnnBase q = Quantize(source);
        string path = Path.Combine(_folder, kind + ".safetensors");
        q.SaveQuantized(path);

        RnnBase fresh = Quantize(Make(kind, seed: 99)); // other weights, replaced by the file's
        Tensor<float> x = T.Random(3, 1f, 5, 2, source.InputSize);
        Outputs(fresh, x).Should().NotEqual(Outputs(q, x));
        fresh.LoadQuantized(path);
        Outputs(fresh, x).Should().Equal(Outputs(q, x));

        // The file: PyTorch's keys in order, weights BF16 (the rounded values), biases F32, half the float32 file's bytes.
        var written = StateDict.Load(path);
        written.Keys.Should().Equal(source.StateDict().Keys);
        foreach ((string key, Tensor<float> value) in source.StateDict())
        {
            float[] want = key.StartsWith("weight_", StringComparison.Ordinal)
                ? [.. T.Values(value).Select(v => BFloat16Weights.Widen(BFloat16Weights.Round(v)))]
                : T.Values(value);
            T.Values(written[key]).Should().Equal(want, key);
            Header(path).GetProperty(key).GetProperty("dtype").GetString().Should().Be(key.StartsWith("weight_", StringComparison.Ordinal) ? "BF16" : "F32");
        }

        Header(path).GetProperty("__metadata__").GetProperty("recurrent.weights").GetString().Should().Be("BFloat16");
        long data = source.StateDict().Sum(e => e.Value.FlattenedLength * (e.Key.StartsWith("weight_", StringComparison.Ordinal) ? 2L : 4L));
        long headerBytes = 8 + (long)BitConverter.ToUInt64(File.ReadAllBytes(path), 0);
        (new FileInfo(path).Length - headerBytes).Should().Be(data, "two bytes a weight, four a bias");
    }

    [Fact]
    public void AFloat32Checkpoint_LoadsRounded_AsQuantizingTheFloatModuleWould()
    {
        var source = new Lstm(6, 10, numLayers: 2, seed: 2);
        string path = Path.Combine(_folder, "float.safetensors");
        StateDict.Save(path, source.StateDict());
        Lstm q = new Lstm(6, 10, numLayers: 2, seed: 3).Quantize(WeightPrecision.BFloat16);
        q.LoadQuantized(path);
        Tensor<float> x = T.Random(4, 1f, 3, 2, 6);
        Outputs(q, x).Should().Equal(Outputs(source.Quantize(WeightPrecision.BFloat16), x));
    }

    [Fact]
    public void Refusals_NameTheProblem_AndLeaveTheWeights()
    {
        var source = new Gru(4, 8, seed: 4);
        Gru q = source.Quantize(WeightPrecision.BFloat16);
        string other = Path.Combine(_folder, "other.safetensors");
        new Gru(4, 9, seed: 5).Quantize(WeightPrecision.BFloat16).SaveQuantized(other);
        Tensor<float> x = T.Random(6, 1f, 3, 1, 4);
        float[] before = Outputs(q, x);
        q.Invoking(m => m.LoadQuantized(other)).Should().Throw<ArgumentException>()
            .WithMessage("Error(s) in loading state_dict for GRU:*size mismatch for weight_ih_l0: copying a param with shape [27, 4] from checkpoint, the shape in current model is [24, 4].*");
        Outputs(q, x).Should().Equal(before);
        source.Invoking(m => m.SaveQuantized(other)).Should().Throw<InvalidOperationException>().WithMessage("*is a float32 module*");
        source.Invoking(m => m.LoadQuantized(other)).Should().Throw<InvalidOperationException>();
    }

    /// <summary>A safetensors file's JSON header.</summary>
    internal static JsonElement Header(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int length = (int)BitConverter.ToUInt64(bytes, 0);
        return JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, length)).RootElement;
    }

    private static RnnBase Make(string kind, int seed) => kind switch
    {
        "lstm-proj-bi" => new Lstm(5, 12, numLayers: 2, bidirectional: true, projSize: 4, seed: seed),
        "gru-2" => new Gru(5, 12, numLayers: 2, seed: seed),
        _ => new Rnn(5, 12, nonlinearity: Nonlinearity.Relu, bias: false, seed: seed),
    };

    private static RnnBase Quantize(RnnBase m) => m switch
    {
        Lstm l => l.Quantize(WeightPrecision.BFloat16),
        Gru g => g.Quantize(WeightPrecision.BFloat16),
        Rnn r => r.Quantize(WeightPrecision.BFloat16),
        _ => throw new InvalidOperationException(),
    };

    private static float[] Outputs(RnnBase m, Tensor<float> x) => m switch
    {
        Lstm l => T.Values(l.Forward(x).Output),
        Gru g => T.Values(g.Forward(x).Output),
        Rnn r => T.Values(r.Forward(x).Output),
        _ => throw new InvalidOperationException(),
    };
}
