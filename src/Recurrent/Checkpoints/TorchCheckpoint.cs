using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Numerics.Tensors;

namespace Recurrent.Checkpoints;

/// <summary>
/// Reads <c>torch.save(state_dict, path)</c> files in PyTorch's zip format (PyTorch ≥ 1.6): <c>archive/data.pkl</c>
/// read by <see cref="RestrictedUnpickler"/>, and one raw little-endian entry per storage under <c>archive/data/</c>.
/// Each tensor is a strided view into a storage; every offset, size and stride is checked against the storage, and every
/// storage's size against its zip entry, before anything is read or allocated.
/// </summary>
internal static class TorchCheckpoint
{
    /// <summary>data.pkl of a state_dict is about 100 bytes per tensor; anything near this is not a state_dict.</summary>
    private const long MaxPickleBytes = 256L << 20;

    /// <summary>Nested dicts deeper than this are refused (a pickle can nest, or even contain itself, at will).</summary>
    private const int MaxDepth = 64;

    /// <summary>Dict entries the walk may visit in all: far past any real checkpoint, short of a pickle that reuses one dict at every level.</summary>
    private const int MaxEntries = 1_000_000;

    /// <summary>
    /// Reads the checkpoint. Views larger than their storage (stride 0 repeats elements) may materialise
    /// <see cref="StateDictLoadOptions.MaxExpandedElements"/> in all (64 MB by default), so a 400-byte file cannot make the
    /// loader build gigabytes; a state_dict saves its tensors contiguous.
    /// </summary>
    public static OrderedDictionary<string, Tensor<float>> Read(Stream stream, string source, StateDictLoadOptions options)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source}: not a readable zip archive ({e.Message}); a PyTorch checkpoint saved by torch.save is a zip file", e);
        }

        using (zip)
        {
            try
            {
                return ReadZip(zip, stream.Length, source, options);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException && !e.Message.StartsWith(source, StringComparison.Ordinal))
            {
                // The zip reader's own failures (our checks already name the file and pass through untouched).
                throw new InvalidDataException($"{source}: the zip archive is damaged ({e.Message})", e);
            }
        }
    }

    private static OrderedDictionary<string, Tensor<float>> ReadZip(ZipArchive zip, long fileBytes, string source, StateDictLoadOptions options)
    {
        ZipArchiveEntry? pickle = null;
        foreach (ZipArchiveEntry entry in zip.Entries)
        {
            string name = entry.FullName;
            int slash = name.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && name.AsSpan(slash + 1).SequenceEqual("data.pkl"))
            {
                if (pickle is not null)
                {
                    throw new InvalidDataException($"{source}: the zip holds two data.pkl entries ({pickle.FullName}, {name})");
                }

                pickle = entry;
            }
        }

        if (pickle is null)
        {
            throw new InvalidDataException($"{source}: a zip archive without <name>/data.pkl is not a torch.save checkpoint");
        }

        string prefix = pickle.FullName[..(pickle.FullName.Length - "data.pkl".Length)];
        bool bigEndian = zip.GetEntry(prefix + "byteorder") is { } order && ReadText(order, fileBytes, source) == "big";
        object? root = RestrictedUnpickler.Load(ReadEntry(pickle, MaxPickleBytes, fileBytes, source), source);
        if (root is not PickleDict dict)
        {
            throw new InvalidDataException(
                $"{source}: holds a {RestrictedUnpickler.Describe(root)}, not a state_dict (a dict of tensors); save one with torch.save(model.state_dict(), path)");
        }

        var storages = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var result = new OrderedDictionary<string, Tensor<float>>(StringComparer.Ordinal);
        int visited = 0;
        long repeated = 0;
        Flatten(dict, "", 0);
        return result;

        void Flatten(PickleDict d, string path, int depth)
        {
            if (depth > MaxDepth)
            {
                throw new InvalidDataException($"{source}: dicts nest deeper than {MaxDepth} levels (or contain themselves)");
            }

            foreach ((object? key, object? value) in d.Items)
            {
                if (++visited > MaxEntries)
                {
                    throw new InvalidDataException(
                        $"{source}: the dicts hold more than {MaxEntries} entries in all (a pickle can reuse one dict at every level, which expands exponentially); a state_dict has far fewer");
                }

                if (key is not string name)
                {
                    throw new InvalidDataException($"{source}: a dict key is a {RestrictedUnpickler.Describe(key)}; state_dict keys are strings");
                }

                string full = path + name;
                switch (value)
                {
                    case TensorRef tensor:
                        if (!result.TryAdd(full, Build(tensor, full)))
                        {
                            throw new InvalidDataException($"{source}: the name '{full}' occurs twice");
                        }

                        break;
                    case PickleDict inner:
                        // A checkpoint that nests state_dicts ({"model": ..., "optimizer": ...}): names joined with dots.
                        Flatten(inner, full + ".", depth + 1);
                        break;
                    default:
                        // Not a tensor (an epoch count, a config string): not part of any module's state.
                        break;
                }
            }
        }

        Tensor<float> Build(TensorRef t, string name)
        {
            float[] storage = Storage(t.Storage);
            long[] sizes = t.Sizes, strides = t.Strides;
            if (sizes.Length != strides.Length)
            {
                throw new InvalidDataException($"{source}: tensor '{name}' has {sizes.Length} sizes but {strides.Length} strides");
            }

            long count = 1, last = t.Offset;
            try
            {
                for (int i = 0; i < sizes.Length; i++)
                {
                    if (sizes[i] < 0 || strides[i] < 0)
                    {
                        throw new InvalidDataException($"{source}: tensor '{name}' has size {Text(sizes)} and stride {Text(strides)}; neither may be negative");
                    }

                    count = checked(count * sizes[i]);
                    last = checked(last + ((sizes[i] - 1) * strides[i]));
                }
            }
            catch (OverflowException)
            {
                throw new InvalidDataException($"{source}: tensor '{name}' has size {Text(sizes)} and stride {Text(strides)}, which overflow");
            }

            if (t.Offset < 0 || (count > 0 && last >= storage.Length) || count > Array.MaxLength)
            {
                throw new InvalidDataException(
                    $"{source}: tensor '{name}' (offset {t.Offset}, size {Text(sizes)}, stride {Text(strides)}) reaches past its storage '{t.Storage.Key}' of {storage.Length} elements");
            }

            if (count > storage.Length && (repeated += count) > options.MaxExpandedElements)
            {
                throw new InvalidDataException(
                    $"{source}: tensor '{name}' (size {Text(sizes)}, stride {Text(strides)}) views {count} elements over a storage of {storage.Length}; views larger than their storage may build {options.MaxExpandedElements} elements in all (StateDictLoadOptions.MaxExpandedElements; or save the tensor with .contiguous())");
            }

            var values = new float[count];
            var index = new long[sizes.Length];
            for (long i = 0; i < count; i++)
            {
                long at = t.Offset;
                for (int d = 0; d < sizes.Length; d++)
                {
                    at += index[d] * strides[d];
                }

                values[i] = storage[at];
                for (int d = sizes.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < sizes[d])
                    {
                        break;
                    }

                    index[d] = 0;
                }
            }

            // System.Numerics.Tensors has no 0-d tensors: a scalar becomes shape [1].
            nint[] lengths = sizes.Length == 0 ? [1] : Array.ConvertAll(sizes, s => (nint)s);
            return Tensor.Create(values, lengths);
        }

        float[] Storage(StorageRef storage)
        {
            if (storages.TryGetValue(storage.Key, out float[]? cached))
            {
                if (cached.Length != storage.Count)
                {
                    throw new InvalidDataException($"{source}: storage '{storage.Key}' is referenced with {storage.Count} and with {cached.Length} elements");
                }

                return cached;
            }

            ZipArchiveEntry entry = zip.GetEntry(prefix + "data/" + storage.Key)
                ?? throw new InvalidDataException($"{source}: storage '{storage.Key}' is missing (no entry {prefix}data/{storage.Key})");
            int width = Width(storage.Type);
            long bytes = storage.Count * width;
            if (storage.Count > Array.MaxLength || entry.Length != bytes)
            {
                throw new InvalidDataException(
                    $"{source}: storage '{storage.Key}' should hold {storage.Count} {storage.Type} elements ({bytes} bytes), but its entry holds {entry.Length} bytes");
            }

            float[] values = Convert(ReadEntry(entry, bytes, fileBytes, source), storage.Type, bigEndian);
            storages.Add(storage.Key, values);
            return values;
        }
    }

    /// <summary>
    /// An entry's bytes, allocated only once its header is believable: no more than expected, no more compressed bytes than
    /// the file holds, and no more than deflate can expand them to (1032:1), so a 1 KB file cannot claim gigabytes.
    /// </summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, long maxBytes, long fileBytes, string source)
    {
        if (entry.Length > maxBytes || entry.Length > Array.MaxLength)
        {
            throw new InvalidDataException($"{source}: entry {entry.FullName} claims {entry.Length} bytes, more than expected ({maxBytes})");
        }

        if (entry.CompressedLength > fileBytes || entry.Length > (entry.CompressedLength * 1032) + 1024)
        {
            throw new InvalidDataException(
                $"{source}: entry {entry.FullName} claims {entry.Length} bytes from {entry.CompressedLength} compressed bytes in a file of {fileBytes}");
        }

        var data = new byte[entry.Length];
        using Stream s = entry.Open();
        int read = s.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read != data.Length || s.ReadByte() >= 0)
        {
            throw new InvalidDataException($"{source}: entry {entry.FullName} holds a different number of bytes than its header says ({entry.Length})");
        }

        return data;
    }

    private static string ReadText(ZipArchiveEntry entry, long fileBytes, string source) =>
        System.Text.Encoding.ASCII.GetString(ReadEntry(entry, 64, fileBytes, source)).Trim();

    private static int Width(StorageType type) => type switch
    {
        StorageType.Double or StorageType.Long => 8,
        StorageType.Float or StorageType.Int => 4,
        StorageType.Half or StorageType.BFloat16 or StorageType.Short => 2,
        _ => 1,
    };

    /// <summary>Raw storage bytes to float32: exact for float32, float16, bfloat16 and small integers; float64 rounds to nearest.</summary>
    internal static float[] Convert(ReadOnlySpan<byte> bytes, StorageType type, bool bigEndian)
    {
        int width = Width(type);
        var values = new float[bytes.Length / width];
        for (int i = 0; i < values.Length; i++)
        {
            ReadOnlySpan<byte> b = bytes.Slice(i * width, width);
            values[i] = type switch
            {
                StorageType.Float => BitConverter.Int32BitsToSingle(bigEndian ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b)),
                StorageType.Double => (float)BitConverter.Int64BitsToDouble(bigEndian ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b)),
                StorageType.Half => (float)BitConverter.UInt16BitsToHalf(bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b)),
                StorageType.BFloat16 => BitConverter.Int32BitsToSingle((bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b)) << 16),
                StorageType.Long => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b),
                StorageType.Int => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b),
                StorageType.Short => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b),
                StorageType.Char => (sbyte)b[0],
                _ => b[0],
            };
        }

        return values;
    }

    private static string Text(long[] values) => "[" + string.Join(", ", Array.ConvertAll(values, v => v.ToString(CultureInfo.InvariantCulture))) + "]";
}
