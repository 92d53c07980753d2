using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Checkpoints;

/// <summary>Files PyTorch wrote (tests/fixtures/generate.py, checkpoint_grid) read back without Python.</summary>
public sealed class CheckpointTests
{
    private static string File(string name) => Path.Combine(Fixture.Directory, "checkpoints", name);

    /// <summary>A checkpoint read from a stream that stands past other bytes loads as the file itself does.</summary>
    [Theory]
    [InlineData("model.pt")]
    [InlineData("model.safetensors")]
    public void Load_FromAStreamNotAtPositionZero_ReadsTheCheckpointThere(string file)
    {
        byte[] bytes = System.IO.File.ReadAllBytes(File(file));
        using var stream = new MemoryStream();
        stream.Write("other data first"u8);
        stream.Write(bytes);
        stream.Position = 16;
        OrderedDictionary<string, Tensor<float>> shifted = StateDict.Load(stream, file);
        OrderedDictionary<string, Tensor<float>> plain = StateDict.Load(File(file));
        shifted.Keys.Should().Equal(plain.Keys);
        foreach (string key in plain.Keys)
        {
            T.Values(shifted[key]).Should().Equal(T.Values(plain[key]), key);
        }
    }

    [Theory]
    [InlineData("model.pt")]
    [InlineData("model.safetensors")]
    public void WholeModelCheckpoint_LoadsIntoItsParts_AndReproducesPyTorch(string file)
    {
        Fixture f = Fixture.Load("checkpoints", "model");
        OrderedDictionary<string, Tensor<float>> expected = f.State();
        OrderedDictionary<string, Tensor<float>> state = StateDict.Load(File(file));
        state.Keys.Should().Equal(expected.Keys, "names and their order are PyTorch's state_dict's");
        foreach ((string name, Tensor<float> tensor) in expected)
        {
            TensorAssert.Close(tensor, state[name], 0f, file + ": " + name);
        }

        var embed = new Embedding(20, 8, paddingIdx: 0);
        var lstm = new Lstm(8, 16, numLayers: 2, batchFirst: true, bidirectional: true, projSize: 6);
        var gru = new Gru(12, 10, batchFirst: true);
        embed.LoadStateDict(StateDict.Select(state, "embed")).MissingKeys.Should().BeEmpty();
        lstm.LoadStateDict(StateDict.Select(state, "encoder.rnn.")).MissingKeys.Should().BeEmpty();
        gru.LoadStateDict(StateDict.Select(state, "decoder.gru.")).MissingKeys.Should().BeEmpty();

        var tokens = f.RawInput("tokens");
        long[] ids = tokens.GetProperty("values").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        Tensor<float> embedded = embed.Forward(Tensor.Create(ids, Fixture.Shape(tokens)));
        Tensor<float> encoded = lstm.Forward(embedded).Output;
        (Tensor<float> decoded, Tensor<float> hN) = gru.Forward(encoded);
        TensorAssert.Close(f.Output("encoded"), encoded, TensorAssert.PyTorchTolerance, "encoded");
        TensorAssert.Close(f.Output("decoded"), decoded, TensorAssert.PyTorchTolerance, "decoded");
        TensorAssert.Close(f.Output("h_n"), hN, TensorAssert.PyTorchTolerance, "h_n");
    }

    [Theory]
    [InlineData("views.pt")]
    [InlineData("views.safetensors")]
    public void ViewsDtypesAndNesting_ReadAsPyTorchConvertsThem(string file)
    {
        OrderedDictionary<string, Tensor<float>> expected = Fixture.Load("checkpoints", "views").State("expected");
        OrderedDictionary<string, Tensor<float>> state = StateDict.Load(File(file));
        if (file.EndsWith(".safetensors", StringComparison.Ordinal))
        {
            expected.Remove("model.scalar");
        }

        // Non-tensor entries (epoch, note, lr) are left out; nested dicts become dotted names.
        state.Keys.Should().Equal(expected.Keys);
        foreach ((string name, Tensor<float> tensor) in expected)
        {
            state[name].Lengths.ToArray().Should().Equal(tensor.Lengths.ToArray(), name);
            TensorAssert.Close(tensor, state[name], 0f, file + ": " + name);
        }
    }

    [Fact]
    public void Save_WritesSafetensors_ThatLoadBack_ByteForByteAsTheFixture()
    {
        OrderedDictionary<string, Tensor<float>> state = StateDict.Load(File("model.pt"));
        using var written = new MemoryStream();
        StateDict.Save(written, state);
        written.ToArray().Should().Equal(System.IO.File.ReadAllBytes(File("model.safetensors")), "the same layout the generator writes from PyTorch's tensors");

        string path = Path.Combine(Path.GetTempPath(), $"recurrent-{Guid.NewGuid():N}.safetensors");
        try
        {
            var lstm = new Lstm(5, 7, 2, bidirectional: true, projSize: 3, seed: 1);
            StateDict.Save(path, lstm.StateDict());
            var copy = new Lstm(5, 7, 2, bidirectional: true, projSize: 3, seed: 2);
            copy.LoadStateDict(StateDict.Load(path));
            Tensor<float> x = T.Random(3, 1f, 4, 2, 5);
            T.Values(copy.Forward(x).Output).Should().Equal(T.Values(lstm.Forward(x).Output));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Fact]
    public void WholePickledModel_IsRefused_WithHowToResave() =>
        new Action(() => StateDict.Load(File("whole_model.pt"))).Should().Throw<InvalidDataException>()
            .WithMessage("*whole_model.pt: the pickle names __main__.CheckpointModel, which a state_dict never holds*torch.save(model.state_dict(), path)*");

    [Fact]
    public void LegacyFormat_IsRefused_WithHowToResave() =>
        new Action(() => StateDict.Load(File("legacy.pt"))).Should().Throw<InvalidDataException>()
            .WithMessage("*legacy.pt: a pickle without the zip container: PyTorch's legacy format*Re-save it*");

    [Fact]
    public void Select_WithoutMatches_ListsThePrefixes()
    {
        OrderedDictionary<string, Tensor<float>> state = StateDict.Load(File("model.pt"));
        new Action(() => StateDict.Select(state, "encoder.lstm")).Should().Throw<ArgumentException>()
            .WithMessage("no entry starts with 'encoder.lstm.'; the prefixes there are: decoder.gru., embed., encoder.rnn.*");
    }

    [Fact]
    public void NotACheckpoint_IsRefused()
    {
        new Action(() => StateDict.Load(new MemoryStream([]), "empty")).Should().Throw<InvalidDataException>().WithMessage("empty: the file is empty");
        new Action(() => StateDict.Load(new MemoryStream("hello world"u8.ToArray()), "text")).Should().Throw<InvalidDataException>()
            .WithMessage("text: neither a torch.save zip checkpoint*first bytes: 68656C6C6F20776F726C64");
    }

    internal static Dictionary<string, byte[]> Entries(byte[] zip)
    {
        using var archive = new System.IO.Compression.ZipArchive(new MemoryStream(zip));
        return archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = new MemoryStream();
            using Stream entry = e.Open();
            entry.CopyTo(s);
            return s.ToArray();
        });
    }

    internal static byte[] Zip(IEnumerable<KeyValuePair<string, byte[]>> entries)
    {
        var buffer = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, byte[] data) in entries)
            {
                using Stream s = archive.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        }

        return buffer.ToArray();
    }
}
