using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Text;
using System.Threading.Tasks;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Checkpoints;

/// <summary>
/// Corrupt, truncated and hostile checkpoints: every one must end in an <see cref="InvalidDataException"/> with a
/// message (or load, when a mutation happens to keep the file valid), never another exception, a crash or a hang.
/// </summary>
public sealed class HostileFileTests
{
    private static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Fixture.Directory, "checkpoints", name));

    /// <summary>Loads, and returns the failure message, or null when the data loaded; any other exception fails the test.</summary>
    private static string? Outcome(byte[] data)
    {
        try
        {
            StateDict.Load(new MemoryStream(data), "mutant");
            return null;
        }
        catch (InvalidDataException e)
        {
            e.Message.Should().StartWith("mutant", "every message names the file");
            return e.Message;
        }
    }

    [Theory]
    [InlineData("model.pt")]
    [InlineData("model.safetensors")]
    [InlineData("views.pt")]
    [InlineData("views.safetensors")]
    public async Task RandomByteFlipsAndTruncations_FailCleanly(string file)
    {
        byte[] original = Bytes(file);
        await Task.Run(() =>
        {
            var random = new Random(file.Length);
            int refused = 0;
            for (int i = 0; i < 400; i++)
            {
                byte[] mutant = (byte[])original.Clone();
                int flips = 1 + random.Next(8);
                for (int j = 0; j < flips; j++)
                {
                    // Half the flips in the first 200 bytes, where the headers are.
                    int at = random.Next(2) == 0 ? random.Next(Math.Min(200, mutant.Length)) : random.Next(mutant.Length);
                    mutant[at] = (byte)random.Next(256);
                }

                refused += Outcome(mutant) is null ? 0 : 1;
            }

            for (int i = 0; i < 200; i++)
            {
                refused += Outcome(original.AsSpan(0, random.Next(original.Length)).ToArray()) is null ? 0 : 1;
            }

            refused.Should().BeGreaterThan(200, "most mutants are damaged files");
        });
    }

    [Fact]
    public async Task MutatedPickleInsideAValidZip_FailsCleanly()
    {
        // Byte flips in a zip mostly break its CRCs; re-zipping the mutated pickle reaches the unpickler itself.
        Dictionary<string, byte[]> entries = CheckpointTests.Entries(Bytes("views.pt"));
        string pickleName = entries.Keys.Single(k => k.EndsWith("/data.pkl", StringComparison.Ordinal));
        byte[] pickle = entries[pickleName];
        await Task.Run(() =>
        {
            var random = new Random(3);
            var messages = new HashSet<string>();
            for (int i = 0; i < 1500; i++)
            {
                byte[] mutant = (byte[])pickle.Clone();
                if (i % 5 == 0)
                {
                    mutant = mutant.AsSpan(0, random.Next(mutant.Length)).ToArray();
                }
                else
                {
                    for (int j = 1 + random.Next(4); j > 0; j--)
                    {
                        mutant[random.Next(mutant.Length)] = (byte)random.Next(256);
                    }
                }

                var copy = new Dictionary<string, byte[]>(entries) { [pickleName] = mutant };
                if (Outcome(CheckpointTests.Zip(copy)) is string message)
                {
                    messages.Add(message.Split(':')[1]);
                }
            }

            messages.Should().HaveCountGreaterThan(5, "the unpickler's checks, not one catch-all, refuse the mutants");
        });
    }

    [Fact]
    public void StorageEntryOfTheWrongSize_IsRefused()
    {
        Dictionary<string, byte[]> entries = CheckpointTests.Entries(Bytes("model.pt"));
        string storage = entries.Keys.First(k => k.Contains("/data/", StringComparison.Ordinal));
        entries[storage] = entries[storage].AsSpan(0, entries[storage].Length - 4).ToArray();
        Outcome(CheckpointTests.Zip(entries)).Should().MatchRegex("storage '\\d+' should hold \\d+ Float elements \\(\\d+ bytes\\), but its entry holds \\d+ bytes");

        entries.Remove(storage);
        Outcome(CheckpointTests.Zip(entries)).Should().Contain("is missing");
    }

    [Fact]
    public void UnknownGlobal_IsRefusedBeforeAnythingIsBuilt()
    {
        byte[] pickle = [0x80, 2, .. "cos\nsystem\n"u8, .. "(S'echo hi'\ntR."u8];
        Outcome(ZipWith(pickle)).Should().Contain("the pickle names os.system, which a state_dict never holds; nothing from it is constructed");
    }

    [Theory]
    [InlineData(4, 0, 10, 1, "reaches past its storage '0' of 4 elements")]
    [InlineData(4, 3, 2, 1, "reaches past its storage '0' of 4 elements")]
    [InlineData(4, -1, 2, 1, "reaches past its storage")]
    [InlineData(4, 0, 2, -1, "neither may be negative")]
    [InlineData(4, 0, long.MaxValue / 2, 4, "which overflow")]
    [InlineData(1_000_000_000_000, 0, 2, 1, "should hold 1000000000000 Float elements")]
    [InlineData(4, 0, 2_147_483_000, 0, "views 2147483000 elements over a storage of 4; views larger than their storage may build 16777216 elements in all")]
    public void TensorThatLiesAboutItsStorage_IsRefused(long numel, long offset, long size, long stride, string message)
    {
        byte[] pickle = TensorPickle(numel, offset, size, stride);
        Outcome(ZipWith(pickle, storageBytes: 16)).Should().Contain(message);
    }

    /// <summary>An expanded view (stride 0) past the default budget loads once the caller raises it, and is refused below it.</summary>
    [Fact]
    public void ExpandedViewPastTheDefaultBudget_LoadsWhenTheOptionRaisesIt()
    {
        byte[] file = ZipWith(TensorPickle(4, 0, 20_000_000, 0), storageBytes: 16);
        Outcome(file).Should().Contain("views larger than their storage may build 16777216 elements in all (StateDictLoadOptions.MaxExpandedElements");
        using var stream = new MemoryStream(file);
        Tensor<float> loaded = StateDict.Load(stream, "expanded", new StateDictLoadOptions { MaxExpandedElements = 20_000_000 }).Values.Single();
        loaded.Lengths.ToArray().Should().Equal(20_000_000);
        stream.Position = 0;
        new Action(() => StateDict.Load(stream, "expanded", new StateDictLoadOptions { MaxExpandedElements = 19_999_999 })).Should().Throw<InvalidDataException>();
        new Action(() => _ = new StateDictLoadOptions { MaxExpandedElements = -1 }).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void DictThatContainsItself_IsRefused()
    {
        // d = {}; d['x'] = d
        byte[] pickle = [0x80, 2, (byte)'}', (byte)'q', 0, 0x8c, 1, (byte)'x', (byte)'h', 0, (byte)'s', (byte)'.'];
        Outcome(ZipWith(pickle)).Should().Contain("dicts nest deeper than 64 levels (or contain themselves)");
    }

    /// <summary>
    /// d0 = {}; d1 = {'a': d0, 'b': d0}; … d62 = {'a': d61, 'b': d61}: 1.4 KB whose walk visits 2^62 entries (it spun at
    /// 100 % CPU indefinitely) is refused by the walk's budget, within seconds.
    /// </summary>
    [Fact]
    public void DictsSharedAtEveryLevel_AreRefusedByTheWalksBudget()
    {
        var pickle = new List<byte> { 0x80, 2, (byte)'}', (byte)'q', 0, (byte)'0' };
        const int levels = 62;
        for (int level = 1; level <= levels; level++)
        {
            pickle.AddRange([(byte)'}', (byte)'(']);
            foreach (char key in "ab")
            {
                pickle.AddRange([0x8c, 1, (byte)key, (byte)'h', (byte)(level - 1)]);
            }

            pickle.AddRange([(byte)'u', (byte)'q', (byte)level]);
            if (level < levels)
            {
                pickle.Add((byte)'0');
            }
        }

        pickle.Add((byte)'.');
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Outcome(ZipWith([.. pickle])).Should().Contain("the dicts hold more than 1000000 entries in all");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
    }

    /// <summary>5 million EMPTY_DICT opcodes (a few KB once deflated) would build 5 million dicts: refused by the value budget.</summary>
    [Fact]
    public void PickleOfMillionsOfEmptyDicts_IsRefusedByTheValueBudget()
    {
        byte[] pickle = new byte[2 + 5_000_000 + 1];
        (pickle[0], pickle[1]) = (0x80, 2);
        pickle.AsSpan(2, 5_000_000).Fill((byte)'}');
        pickle[^1] = (byte)'.';
        long before = GC.GetAllocatedBytesForCurrentThread();
        Outcome(ZipWith(pickle)).Should().Contain("the pickle builds more than 4000000 values");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1L << 30);
    }

    /// <summary>
    /// A 0.5 KB zip whose central directory says the storage entry holds 2 GB (the pickle agreeing) is refused from its
    /// header, before 2 GB are allocated: the file cannot hold that many compressed bytes.
    /// </summary>
    [Fact]
    public void ZipEntryClaimingMoreBytesThanTheFileHolds_IsRefusedBeforeAllocating()
    {
        const uint claimed = 0x7FFF_FF00;
        byte[] zip = ZipWith(TensorPickle(claimed / 4, 0, 2, 1));
        byte[] name = Encoding.ASCII.GetBytes("archive/data/0");
        for (int at = 0; at + 46 + name.Length <= zip.Length; at++)
        {
            // The central directory record of the storage entry: signature PK\x01\x02, sizes at +20 (compressed) and +24.
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at)) == 0x02014b50 && zip.AsSpan(at + 46, name.Length).SequenceEqual(name))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 20), claimed);
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 24), claimed);
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        Outcome(zip).Should().Contain("entry archive/data/0 claims 2147483392 bytes from 2147483392 compressed bytes in a file of");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1L << 30);
    }

    [Fact]
    public void NotADict_IsRefused() =>
        Outcome(ZipWith([0x80, 2, (byte)']', (byte)'.'])).Should().Contain("holds a list, not a state_dict");

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor 'b' starts at byte 4 of the data, but the previous tensor ends at 8")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "tensor 'a' of shape [3] and dtype F32 needs 12 bytes, but data_offsets give 8")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "the tensors cover 8 bytes of data, but the file holds 4 after the header")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "needs more than")]
    [InlineData("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "tensor 'a' has dtype C64")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8, "has a shape entry -1, not a size")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, "has data_offsets [8,4]")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 8, "has data_offsets [\"0\",4]")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]}}", 8, "has data_offsets [0,4.5]")]
    [InlineData("{\"a\":{\"dtype\":\"F32\"}}", 8, "lacks dtype, shape or data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "the tensor 'a' is named twice")]
    [InlineData("{\"a\": [1, 2", 8, "not valid JSON")]
    public void SafetensorsHeaderThatLies_IsRefused(string header, int dataBytes, string message)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] file = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        Outcome(file).Should().Contain(message);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 40)]
    [InlineData(9UL)]
    public void SafetensorsHeaderLengthPastTheFile_IsRefused(ulong length)
    {
        byte[] file = [.. new byte[8], .. "{\"a\":1}"u8];
        BinaryPrimitives.WriteUInt64LittleEndian(file, length);
        Outcome(file).Should().NotBeNull();
    }

    /// <summary>A zip checkpoint holding <paramref name="pickle"/> as data.pkl and one storage entry "0".</summary>
    private static byte[] ZipWith(byte[] pickle, int storageBytes = 16) =>
        CheckpointTests.Zip(new Dictionary<string, byte[]> { ["archive/data.pkl"] = pickle, ["archive/data/0"] = new byte[storageBytes] });

    /// <summary>{'w': _rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', numel), offset, (size,), (stride,), False, OrderedDict())}.</summary>
    private static byte[] TensorPickle(long numel, long offset, long size, long stride)
    {
        var p = new List<byte> { 0x80, 2, (byte)'}' };
        void Text(string s) => p.AddRange(Encoding.ASCII.GetBytes(s));
        void Long(long v)
        {
            p.Add(0x8a);
            p.Add(8);
            p.AddRange(BitConverter.GetBytes(v));
        }

        void Str(string s)
        {
            p.Add(0x8c);
            p.Add((byte)s.Length);
            Text(s);
        }

        Str("w");
        Text("ctorch._utils\n_rebuild_tensor_v2\n(");
        Text("(");
        Str("storage");
        Text("ctorch\nFloatStorage\n");
        Str("0");
        Str("cpu");
        Long(numel);
        Text("tQ");
        Long(offset);
        Long(size);
        p.Add(0x85);
        Long(stride);
        p.Add(0x85);
        p.Add(0x89);
        Text("ccollections\nOrderedDict\n)R");
        Text("tRs.");
        return [.. p];
    }
}
