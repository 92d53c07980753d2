using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Recurrent.Checkpoints;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and <c>[begin, end)</c> byte range in the data that follows, then the data. Reading checks the header
/// against the file (sizes, ranges that overlap, leave holes, or reach past the end) before reading any tensor.
/// </summary>
internal static class SafeTensors
{
    /// <summary>The reference implementation's limit on the JSON header.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, (StorageType Type, int Width)> DTypes = new(StringComparer.Ordinal)
    {
        ["F32"] = (StorageType.Float, 4),
        ["F64"] = (StorageType.Double, 8),
        ["F16"] = (StorageType.Half, 2),
        ["BF16"] = (StorageType.BFloat16, 2),
        ["I64"] = (StorageType.Long, 8),
        ["I32"] = (StorageType.Int, 4),
        ["I16"] = (StorageType.Short, 2),
        ["I8"] = (StorageType.Char, 1),
        ["U8"] = (StorageType.Byte, 1),
        ["BOOL"] = (StorageType.Bool, 1),
    };

    /// <summary>Whether <paramref name="head"/> (the first bytes of a file) starts like a safetensors file.</summary>
    public static bool Looks(ReadOnlySpan<byte> head, long fileLength) =>
        head.Length >= 9 && BinaryPrimitives.ReadUInt64LittleEndian(head) is ulong n && n >= 2 && n <= (ulong)(fileLength - 8) && head[8] == (byte)'{';

    public static OrderedDictionary<string, Tensor<float>> Read(Stream stream, string source)
    {
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        long fileLength = stream.Length;
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
        {
            throw new InvalidDataException($"{source}: the safetensors header claims {headerLength} bytes, but the file has {fileLength - 8} after the length");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw new InvalidDataException($"{source}: the safetensors header is not valid UTF-8");
        }

        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        var entries = new List<(string Name, StorageType Type, int Width, long[] Shape, long Begin, long End)>();
        try
        {
            using JsonDocument doc = JsonDocument.Parse(header);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: the safetensors header is a JSON {doc.RootElement.ValueKind}, not an object");
            }

            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    continue;
                }

                entries.Add(ParseEntry(p, source));
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: the safetensors header is not valid JSON ({e.Message})", e);
        }

        // Ranges must tile the data exactly, as the reference implementation requires: no overlap, no hole, nothing past the end.
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long expected = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (!seen.Add(e.Name))
            {
                throw new InvalidDataException($"{source}: the tensor '{e.Name}' is named twice");
            }

            if (e.Begin != expected)
            {
                throw new InvalidDataException(
                    $"{source}: tensor '{e.Name}' starts at byte {e.Begin} of the data, but the previous tensor ends at {expected} (ranges must not overlap or leave holes)");
            }

            expected = e.End;
        }

        if (expected != dataLength)
        {
            throw new InvalidDataException($"{source}: the tensors cover {expected} bytes of data, but the file holds {dataLength} after the header");
        }

        var result = new OrderedDictionary<string, Tensor<float>>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            var bytes = new byte[e.End - e.Begin];
            stream.Position = dataStart + e.Begin;
            stream.ReadExactly(bytes);
            nint[] lengths = e.Shape.Length == 0 ? [1] : Array.ConvertAll(e.Shape, s => (nint)s);
            result.Add(e.Name, Tensor.Create(TorchCheckpoint.Convert(bytes, e.Type, bigEndian: false), lengths));
        }

        return result;
    }

    private static (string, StorageType, int, long[], long, long) ParseEntry(JsonProperty p, string source)
    {
        JsonElement e = p.Value;
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out JsonElement dtype) || dtype.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out JsonElement shape) || shape.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{source}: the header entry '{p.Name}' lacks dtype, shape or data_offsets [begin, end]");
        }

        if (!DTypes.TryGetValue(dtype.GetString()!, out var type))
        {
            throw new InvalidDataException($"{source}: tensor '{p.Name}' has dtype {dtype.GetString()}; readable: {string.Join(", ", DTypes.Keys)}");
        }

        long[] dims = new long[shape.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (JsonElement d in shape.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out dims[i]) || dims[i] < 0)
            {
                throw new InvalidDataException($"{source}: tensor '{p.Name}' has a shape entry {d.GetRawText()}, not a size");
            }

            count = count > 0 && dims[i] > Array.MaxLength / count ? long.MaxValue : count * dims[i];
            i++;
        }

        if (offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new InvalidDataException($"{source}: tensor '{p.Name}' has data_offsets {offsets.GetRawText()}");
        }

        if (count > Array.MaxLength || count * type.Width != end - begin)
        {
            throw new InvalidDataException(
                string.Create(CultureInfo.InvariantCulture, $"{source}: tensor '{p.Name}' of shape {shape.GetRawText()} and dtype {dtype.GetString()} needs {(count > Array.MaxLength ? "more than " + Array.MaxLength.ToString(CultureInfo.InvariantCulture) + " elements" : (count * type.Width).ToString(CultureInfo.InvariantCulture) + " bytes")}, but data_offsets give {end - begin}"));
        }

        return (p.Name, type.Type, type.Width, dims, begin, end);
    }

    /// <summary>Writes float32 tensors in the given order, the header padded with spaces to 8 bytes as the reference writer does.</summary>
    /// <param name="stream">Where the file goes.</param>
    /// <param name="tensors">Names to tensors, written in this order.</param>
    /// <param name="storage">
    /// How to store each tensor: <see cref="StorageType.Float"/> (F32, the default), <see cref="StorageType.BFloat16"/>
    /// (BF16, rounded to nearest even; exact for values that are bfloat16 already) or <see cref="StorageType.Char"/> (I8:
    /// the values must be integers in [-128, 127]).
    /// </param>
    /// <param name="metadata">Extra <c>__metadata__</c> entries (the reference writer's are strings).</param>
    public static void Write(
        Stream stream, IEnumerable<KeyValuePair<string, Tensor<float>>> tensors, Func<string, StorageType>? storage = null, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var items = new List<(string Name, float[] Values, nint[] Shape, StorageType Type)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, Tensor<float> tensor) in tensors)
        {
            if (!names.Add(name))
            {
                // A safetensors header is a JSON object: a second entry of one name would make a file no reader accepts.
                Internals.ThrowHelper.Argument($"the tensor name '{name}' appears twice; a safetensors file names each tensor once", "stateDict");
            }

            var values = new float[tensor.FlattenedLength];
            tensor.FlattenTo(values);
            StorageType type = storage?.Invoke(name) ?? StorageType.Float;
            if (type is not (StorageType.Float or StorageType.BFloat16 or StorageType.Char))
            {
                throw new ArgumentOutOfRangeException(nameof(storage), type, "tensors are written as F32, BF16 or I8");
            }

            if (type == StorageType.Char && Array.Exists(values, v => v != MathF.Round(v) || v < sbyte.MinValue || v > sbyte.MaxValue))
            {
                Internals.ThrowHelper.Argument($"the tensor '{name}' is stored as I8 but holds values that are not integers in [-128, 127]", "stateDict");
            }

            items.Add((name, values, tensor.Lengths.ToArray(), type));
        }

        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            w.WriteString("format", "pt");
            foreach ((string key, string value) in metadata ?? [])
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            long offset = 0;
            foreach (var (name, values, shape, type) in items)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", type switch { StorageType.BFloat16 => "BF16", StorageType.Char => "I8", _ => "F32" });
                w.WriteStartArray("shape");
                foreach (nint d in shape)
                {
                    w.WriteNumberValue((long)d);
                }

                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += (long)values.Length * (type switch { StorageType.BFloat16 => 2, StorageType.Char => 1, _ => 4 });
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        int padding = (int)((8 - (json.Length % 8)) % 8);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
        stream.Write(length);
        json.Position = 0;
        json.CopyTo(stream);
        for (int i = 0; i < padding; i++)
        {
            stream.WriteByte((byte)' ');
        }

        Span<byte> b = stackalloc byte[4];
        foreach (var item in items)
        {
            if (item.Type == StorageType.Char)
            {
                foreach (float v in item.Values)
                {
                    stream.WriteByte((byte)(sbyte)v);
                }
            }
            else if (item.Type == StorageType.BFloat16)
            {
                foreach (float v in item.Values)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(b, Kernels.Formats.BFloat16Weights.Round(v));
                    stream.Write(b[..2]);
                }
            }
            else if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(item.Values.AsSpan()));
            }
            else
            {
                foreach (float v in item.Values)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(b, v);
                    stream.Write(b);
                }
            }
        }
    }
}
