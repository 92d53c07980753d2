using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Recurrent.Tests.TestUtilities;

/// <summary>One case written by tests/fixtures/generate.py from PyTorch 1.13.1.</summary>
public sealed class Fixture
{
    private readonly JsonElement _root;

    private Fixture(string path)
    {
        Path = path;
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        _root = doc.RootElement.Clone();
    }

    public string Path { get; }

    public string Name => _root.GetProperty("name").GetString()!;

    public string Module => _root.GetProperty("module").GetString()!;

    public string Repr => _root.GetProperty("repr").GetString()!;

    public JsonElement Args => _root.GetProperty("args");

    public static string Directory => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static Fixture Load(string kind, string name) => new(System.IO.Path.Combine(Directory, kind, name + ".json"));

    /// <summary>The case names of one folder, for a theory's MemberData.</summary>
    public static Xunit.TheoryData<string> Names(string kind) => new(NameList(kind));

    /// <summary>The case names of one folder in ordinal order.</summary>
    public static string[] NameList(string kind) =>
        System.IO.Directory.GetFiles(System.IO.Path.Combine(Directory, kind), "*.json")
            .Select(System.IO.Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)
            .ToArray()!;

    public int Int(string arg) => Args.GetProperty(arg).GetInt32();

    public bool Bool(string arg) => Args.GetProperty(arg).GetBoolean();

    public float Float(string arg) => Args.GetProperty(arg).GetSingle();

    public string String(string arg) => Args.GetProperty(arg).GetString()!;

    public int? NullableInt(string arg) => Args.GetProperty(arg).ValueKind == JsonValueKind.Null ? null : Args.GetProperty(arg).GetInt32();

    public float? NullableFloat(string arg) =>
        Args.GetProperty(arg).ValueKind == JsonValueKind.Null ? null : ReadFloat(Args.GetProperty(arg));

    public bool HasInput(string name) => _root.GetProperty("inputs").TryGetProperty(name, out _);

    public Tensor<float> Input(string name) => FloatTensor(_root.GetProperty("inputs").GetProperty(name));

    public Tensor<float>? OptionalInput(string name) =>
        _root.GetProperty("inputs").TryGetProperty(name, out JsonElement e) ? FloatTensor(e) : null;

    public Tensor<float> Output(string name) => FloatTensor(_root.GetProperty("outputs").GetProperty(name));

    public JsonElement RawInput(string name) => _root.GetProperty("inputs").GetProperty(name);

    /// <summary>A top-level string of the case (e.g. the utility function's name).</summary>
    public string RawInputRoot(string name) => _root.GetProperty(name).GetString()!;

    public JsonElement RawOutput(string name) => _root.GetProperty("outputs").GetProperty(name);

    /// <summary>An integer list of the inputs or outputs; <see langword="null"/> where PyTorch had <c>None</c>.</summary>
    public int[]? Ints(string section, string name)
    {
        JsonElement e = _root.GetProperty(section).GetProperty(name);
        return e.ValueKind == JsonValueKind.Null ? null : e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    }

    /// <summary>A list of float tensors of the inputs or outputs.</summary>
    public Tensor<float>[] Tensors(string section, string name) =>
        _root.GetProperty(section).GetProperty(name).EnumerateArray().Select(FloatTensor).ToArray();

    /// <summary>The case's whole JSON.</summary>
    public JsonElement Root => _root;

    /// <summary>The state_dict in PyTorch's key order.</summary>
    public OrderedDictionary<string, Tensor<float>> State(string property = "state") => StateOf(_root.GetProperty(property));

    /// <summary>A JSON object of name to tensor, in order.</summary>
    public static OrderedDictionary<string, Tensor<float>> StateOf(JsonElement element)
    {
        var state = new OrderedDictionary<string, Tensor<float>>();
        foreach (JsonProperty p in element.EnumerateObject())
        {
            state.Add(p.Name, FloatTensor(p.Value));
        }

        return state;
    }

    public static nint[] Shape(JsonElement e) => e.GetProperty("shape").EnumerateArray().Select(x => (nint)x.GetInt64()).ToArray();

    public static Tensor<float> FloatTensor(JsonElement e)
    {
        nint[] shape = Shape(e);
        byte[] bytes = Convert.FromBase64String(e.GetProperty("data").GetString()!);
        float[] values = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("fixtures are little-endian float32");
        }

        return Tensor.Create(values, shape);
    }

    public override string ToString() => Name;

    private static float ReadFloat(JsonElement e) =>
        e.ValueKind == JsonValueKind.Number ? e.GetSingle() : e.GetString() switch
        {
            "inf" => float.PositiveInfinity,
            "-inf" => float.NegativeInfinity,
            string s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
            _ => float.NaN,
        };
}
