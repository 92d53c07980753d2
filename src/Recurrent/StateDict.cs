using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics.Tensors;
using Recurrent.Checkpoints;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// Reads and writes state_dicts as files, no Python needed: PyTorch's own <c>torch.save(model.state_dict(), path)</c>
/// checkpoints and safetensors files. Pair it with <see cref="Module.LoadStateDict"/>:
/// <code>
/// var state = StateDict.Load("model.pt");
/// lstm.LoadStateDict(StateDict.Select(state, "encoder.rnn."));
/// </code>
/// </summary>
public static class StateDict
{
    /// <summary>
    /// Reads a state_dict: a <c>torch.save</c> zip checkpoint (PyTorch ≥ 1.6) or a safetensors file, told apart by content.
    /// Float32 tensors are read exactly; float64, float16, bfloat16 and integer tensors are converted to float32; views are
    /// materialised; nested dicts are flattened with dotted names; non-tensor entries are left out; a 0-d tensor
    /// becomes shape <c>[1]</c>. The pickle is read by a restricted reader that constructs nothing but dicts and tensors.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>Names to tensors, in the file's order.</returns>
    /// <exception cref="InvalidDataException">The file is not a state_dict in a supported format, or it is damaged; the message says what was found.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OrderedDictionary<string, Tensor<float>> Load(string path) => Load(path, null);

    /// <summary>Reads a state_dict as <see cref="Load(string)"/> does, within the budgets of <paramref name="options"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Budgets; <see langword="null"/> for <see cref="StateDictLoadOptions.Default"/>.</param>
    /// <returns>Names to tensors, in the file's order.</returns>
    /// <exception cref="InvalidDataException">The file is not a state_dict in a supported format, is damaged, or passes a budget.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OrderedDictionary<string, Tensor<float>> Load(string path, StateDictLoadOptions? options)
    {
        if (path is null)
        {
            ThrowHelper.Null(nameof(path));
        }

        using FileStream stream = File.OpenRead(path);
        return Load(stream, path, options);
    }

    /// <summary>Reads a state_dict from a seekable stream, as <see cref="Load(string)"/> does.</summary>
    /// <param name="stream">A readable, seekable stream positioned at the start of the file.</param>
    /// <param name="source">The name used in error messages.</param>
    /// <param name="options">Budgets; <see langword="null"/> for <see cref="StateDictLoadOptions.Default"/>.</param>
    /// <exception cref="InvalidDataException">The data is not a state_dict in a supported format, is damaged, or passes a budget.</exception>
    public static OrderedDictionary<string, Tensor<float>> Load(Stream stream, string source = "stream", StateDictLoadOptions? options = null)
    {
        if (stream is null)
        {
            ThrowHelper.Null(nameof(stream));
        }

        if (!stream.CanRead || !stream.CanSeek)
        {
            ThrowHelper.Argument("the stream must be readable and seekable", nameof(stream));
        }

        if (stream.Position != 0)
        {
            // The checkpoint starts where the caller's stream stands; the readers see it from its own byte 0.
            stream = new OffsetStream(stream, stream.Position);
        }

        long start = stream.Position;
        Span<byte> head = stackalloc byte[16];
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        stream.Position = start;
        long length = stream.Length - start;
        try
        {
            if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] is 3 or 5 or 7)
            {
                return TorchCheckpoint.Read(stream, source, options ?? StateDictLoadOptions.Default);
            }

            if (SafeTensors.Looks(head, length))
            {
                return SafeTensors.Read(stream, source);
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{source}: the file ends early ({e.Message})", e);
        }

        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
        {
            throw new InvalidDataException(
                $"{source}: a pickle without the zip container: PyTorch's legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False). Re-save it with a current PyTorch: torch.save(torch.load(path), path), or write safetensors.");
        }

        throw new InvalidDataException(
            n == 0
                ? $"{source}: the file is empty"
                : $"{source}: neither a torch.save zip checkpoint (starts with PK) nor a safetensors file (8-byte header length, then '{{'); first bytes: {Convert.ToHexString(head)}");
    }

    /// <summary>Writes float32 tensors as a safetensors file, in the dictionary's order (readable by <c>safetensors.torch.load_file</c>).</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="stateDict">Names to tensors, e.g. <see cref="Module.StateDict()"/>.</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor<float>>> stateDict)
    {
        if (path is null)
        {
            ThrowHelper.Null(nameof(path));
        }

        if (stateDict is null)
        {
            ThrowHelper.Null(nameof(stateDict));
        }

        using FileStream stream = File.Create(path);
        Save(stream, stateDict);
    }

    /// <summary>Writes float32 tensors in the safetensors format to a stream.</summary>
    public static void Save(Stream stream, IEnumerable<KeyValuePair<string, Tensor<float>>> stateDict)
    {
        if (stream is null)
        {
            ThrowHelper.Null(nameof(stream));
        }

        if (stateDict is null)
        {
            ThrowHelper.Null(nameof(stateDict));
        }

        SafeTensors.Write(stream, stateDict);
    }

    /// <summary>
    /// The entries of one submodule, prefix stripped, so a whole model's state_dict loads into its parts:
    /// <c>Select(state, "encoder.rnn.")</c> turns <c>encoder.rnn.weight_ih_l0</c> into <c>weight_ih_l0</c>.
    /// A prefix without a trailing dot gets one.
    /// </summary>
    /// <exception cref="ArgumentException">No entry starts with the prefix (the message lists the prefixes there are).</exception>
    public static OrderedDictionary<string, Tensor<float>> Select(IEnumerable<KeyValuePair<string, Tensor<float>>> stateDict, string prefix)
    {
        if (stateDict is null)
        {
            ThrowHelper.Null(nameof(stateDict));
        }

        if (prefix is null)
        {
            ThrowHelper.Null(nameof(prefix));
        }

        if (prefix.Length > 0 && !prefix.EndsWith('.'))
        {
            prefix += ".";
        }

        var result = new OrderedDictionary<string, Tensor<float>>(StringComparer.Ordinal);
        var prefixes = new SortedSet<string>(StringComparer.Ordinal);
        foreach ((string name, Tensor<float> tensor) in stateDict)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                result.Add(name[prefix.Length..], tensor);
            }

            int dot = name.LastIndexOf('.');
            prefixes.Add(dot < 0 ? "(none)" : name[..(dot + 1)]);
        }

        if (result.Count == 0)
        {
            ThrowHelper.Argument($"no entry starts with '{prefix}'; the prefixes there are: {string.Join(", ", prefixes)}", nameof(prefix));
        }

        return result;
    }
}
