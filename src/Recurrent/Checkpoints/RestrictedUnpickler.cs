using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Recurrent.Checkpoints;

/// <summary>
/// Reads the pickle of a <c>torch.save</c> zip checkpoint (<c>data.pkl</c>) without executing anything: a small stack
/// machine that knows the opcodes PyTorch's pickler emits and builds plain values. The only globals it accepts are
/// those a state_dict needs (OrderedDict, the tensor and parameter rebuild functions, the storage types); any other
/// name is refused before anything is constructed. Every opcode consumes input, so it ends; every read is bounds-checked.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private static readonly object Mark = new();
    private readonly byte[] _data;
    private readonly string _source;
    private readonly List<object?> _stack = [];

    /// <summary>Values the pickle may push in all (about 200,000 tensors' worth).</summary>
    private const int MaxValues = 4_000_000;
    private int _pushed;
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private int _pos;

    private RestrictedUnpickler(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>Unpickles <paramref name="data"/>; <paramref name="source"/> names the file in messages.</summary>
    public static object? Load(byte[] data, string source) => new RestrictedUnpickler(data, source).Run();

    private object? Run()
    {
        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    byte protocol = ReadByte();
                    if (protocol > 5)
                    {
                        Fail($"pickle protocol {protocol} is newer than any PyTorch writes");
                    }

                    break;
                case 0x95: // FRAME
                    Skip(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1)
                    {
                        Fail($"the pickle ends with {_stack.Count} values on its stack instead of 1");
                    }

                    return _stack[0];
                case (byte)'(': // MARK
                    _marks.Add(_stack.Count);
                    _stack.Add(Mark);
                    break;
                case (byte)'N':
                    Push(null);
                    break;
                case 0x88:
                    Push(true);
                    break;
                case 0x89:
                    Push(false);
                    break;
                case (byte)'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4)));
                    break;
                case (byte)'K': // BININT1
                    Push((long)ReadByte());
                    break;
                case (byte)'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2)));
                    break;
                case 0x8a: // LONG1
                    Push(ReadLong(ReadByte()));
                    break;
                case 0x8b: // LONG4
                    Push(ReadLong(ReadLength(BinaryPrimitives.ReadInt32LittleEndian(Read(4)))));
                    break;
                case (byte)'I': // INT (text)
                    {
                        string line = ReadLine();
                        Push(line switch
                        {
                            "00" => false,
                            "01" => true,
                            _ => long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : Fail<long>($"bad INT '{line}'"),
                        });
                        break;
                    }

                case (byte)'L': // LONG (text)
                    {
                        string line = ReadLine().TrimEnd('L');
                        Push(long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : Fail<long>($"bad LONG '{line}'"));
                        break;
                    }

                case (byte)'G': // BINFLOAT
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8)));
                    break;
                case (byte)'F': // FLOAT (text)
                    {
                        string line = ReadLine();
                        Push(double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : Fail<double>($"bad FLOAT '{line}'"));
                        break;
                    }

                case (byte)'X': // BINUNICODE
                    Push(ReadString(ReadLength(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(ReadString(ReadByte()));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(ReadString(ReadLength((long)BinaryPrimitives.ReadUInt64LittleEndian(Read(8)))));
                    break;
                case (byte)'U': // SHORT_BINSTRING
                    Push(Encoding.Latin1.GetString(Read(ReadByte())));
                    break;
                case (byte)'T': // BINSTRING
                    Push(Encoding.Latin1.GetString(Read(ReadLength(BinaryPrimitives.ReadInt32LittleEndian(Read(4))))));
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(Read(ReadByte()).ToArray());
                    break;
                case (byte)'B': // BINBYTES
                    Push(Read(ReadLength(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))).ToArray());
                    break;
                case (byte)')':
                    Push(Array.Empty<object?>());
                    break;
                case 0x85: // TUPLE1
                    Push(new[] { Pop() });
                    break;
                case 0x86: // TUPLE2
                    {
                        object? b = Pop(), a = Pop();
                        Push(new[] { a, b });
                        break;
                    }

                case 0x87: // TUPLE3
                    {
                        object? c = Pop(), b = Pop(), a = Pop();
                        Push(new[] { a, b, c });
                        break;
                    }

                case (byte)'t': // TUPLE
                    Push(PopToMark().ToArray());
                    break;
                case (byte)']': // EMPTY_LIST
                    Push(new List<object?>());
                    break;
                case (byte)'l': // LIST
                    Push(PopToMark());
                    break;
                case (byte)'}': // EMPTY_DICT
                    Push(new PickleDict());
                    break;
                case (byte)'d': // DICT
                    {
                        var dict = new PickleDict();
                        AddPairs(dict, PopToMark());
                        Push(dict);
                        break;
                    }

                case (byte)'a': // APPEND
                    {
                        object? item = Pop();
                        Peek<List<object?>>("APPEND").Add(item);
                        break;
                    }

                case (byte)'e': // APPENDS
                    {
                        List<object?> items = PopToMark();
                        Peek<List<object?>>("APPENDS").AddRange(items);
                        break;
                    }

                case (byte)'s': // SETITEM
                    {
                        object? value = Pop(), key = Pop();
                        Peek<PickleDict>("SETITEM").Items.Add(new(key, value));
                        break;
                    }

                case (byte)'u': // SETITEMS
                    {
                        List<object?> items = PopToMark();
                        AddPairs(Peek<PickleDict>("SETITEMS"), items);
                        break;
                    }

                case (byte)'q': // BINPUT
                    _memo[ReadByte()] = PeekAny();
                    break;
                case (byte)'r': // LONG_BINPUT
                    _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = PeekAny();
                    break;
                case 0x94: // MEMOIZE
                    _memo[_memo.Count] = PeekAny();
                    break;
                case (byte)'p': // PUT
                    _memo[ParseIndex(ReadLine())] = PeekAny();
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(ReadByte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))));
                    break;
                case (byte)'g': // GET
                    Push(Recall(ParseIndex(ReadLine())));
                    break;
                case (byte)'c': // GLOBAL
                    {
                        string module = ReadLine(), name = ReadLine();
                        Push(Resolve(module, name));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        object? name = Pop(), module = Pop();
                        if (module is not string m || name is not string n)
                        {
                            return Fail<object?>("STACK_GLOBAL expects two strings");
                        }

                        Push(Resolve(m, n));
                        break;
                    }

                case (byte)'R': // REDUCE
                    {
                        object? args = Pop(), callable = Pop();
                        Push(Call(callable, args as object?[] ?? Fail<object?[]>("REDUCE expects an argument tuple")));
                        break;
                    }

                case 0x81: // NEWOBJ
                    {
                        object? args = Pop(), cls = Pop();
                        Push(Call(cls, args as object?[] ?? Fail<object?[]>("NEWOBJ expects an argument tuple")));
                        break;
                    }

                case (byte)'b': // BUILD
                    {
                        _ = Pop(); // the state: an OrderedDict's __dict__ (state_dict's _metadata), not needed
                        object? target = PeekAny();
                        if (target is not PickleDict)
                        {
                            Fail($"BUILD on a {Describe(target)}; a state_dict only sets attributes on its OrderedDicts");
                        }

                        break;
                    }

                case (byte)'Q': // BINPERSID
                    Push(Storage(Pop()));
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'2': // DUP
                    Push(PeekAny());
                    break;
                case (byte)'1': // POP_MARK
                    PopToMark();
                    break;
                default:
                    return Fail<object?>(string.Create(CultureInfo.InvariantCulture, $"pickle opcode 0x{op:x2} at byte {_pos - 1} is not one a state_dict uses"));
            }
        }
    }

    private static readonly Dictionary<string, StorageType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = StorageType.Float,
        ["DoubleStorage"] = StorageType.Double,
        ["HalfStorage"] = StorageType.Half,
        ["BFloat16Storage"] = StorageType.BFloat16,
        ["LongStorage"] = StorageType.Long,
        ["IntStorage"] = StorageType.Int,
        ["ShortStorage"] = StorageType.Short,
        ["CharStorage"] = StorageType.Char,
        ["ByteStorage"] = StorageType.Byte,
        ["BoolStorage"] = StorageType.Bool,
    };

    private PickleGlobal Resolve(string module, string name)
    {
        bool allowed = (module, name) switch
        {
            ("collections", "OrderedDict") => true,
            ("torch._utils", "_rebuild_tensor_v2") => true,
            ("torch._utils", "_rebuild_parameter") => true,
            ("torch", _) => StorageTypes.ContainsKey(name),
            _ => false,
        };
        if (!allowed)
        {
            string hint = module.StartsWith("torch.nn", StringComparison.Ordinal) || module == "__main__"
                ? " This looks like a whole pickled model (torch.save(model, path)); re-save its weights with torch.save(model.state_dict(), path)."
                : " Only a state_dict (a dict of tensors, torch.save(model.state_dict(), path)) can be read; re-save the weights that way.";
            Fail($"the pickle names {module}.{name}, which a state_dict never holds; nothing from it is constructed.{hint}");
        }

        return new PickleGlobal(module, name);
    }

    private object? Call(object? callable, object?[] args)
    {
        if (callable is not PickleGlobal global)
        {
            return Fail<object?>($"the pickle calls a {Describe(callable)}");
        }

        switch (global.Name)
        {
            case "OrderedDict":
                if (args.Length != 0)
                {
                    Fail("OrderedDict is called with arguments; PyTorch pickles it empty, then sets its items");
                }

                return new PickleDict();
            case "_rebuild_tensor_v2":
                {
                    if (args.Length < 4 || args[0] is not StorageRef storage || args[1] is not long offset)
                    {
                        return Fail<object?>("_rebuild_tensor_v2 expects (storage, offset, size, stride, ...)");
                    }

                    return new TensorRef(storage, offset, Longs(args[2], "size"), Longs(args[3], "stride"));
                }

            case "_rebuild_parameter":
                return args.Length >= 1 && args[0] is TensorRef data ? data : Fail<object?>("_rebuild_parameter expects a tensor");
            default:
                return Fail<object?>($"the pickle calls {global}, which is not a function");
        }
    }

    private StorageRef Storage(object? pid)
    {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (pid is not object?[] { Length: 5 } t || t[0] as string != "storage" || t[1] is not PickleGlobal type || t[2] is not string key || t[4] is not long count)
        {
            return Fail<StorageRef>($"a persistent id is {Describe(pid)}, not ('storage', type, key, location, numel)");
        }

        if (!StorageTypes.TryGetValue(type.Name, out StorageType storageType))
        {
            return Fail<StorageRef>($"a storage has type {type}");
        }

        if (count < 0)
        {
            return Fail<StorageRef>(string.Create(CultureInfo.InvariantCulture, $"storage '{key}' claims {count} elements"));
        }

        return new StorageRef(key, storageType, count);
    }

    private long[] Longs(object? value, string what)
    {
        if (value is not object?[] items)
        {
            return Fail<long[]>($"a tensor's {what} is a {Describe(value)}, not a tuple of integers");
        }

        var result = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            result[i] = items[i] is long v ? v : Fail<long>($"a tensor's {what} holds a {Describe(items[i])}");
        }

        return result;
    }

    private void AddPairs(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0)
        {
            Fail("a dict's items come in an odd count");
        }

        for (int i = 0; i < items.Count; i += 2)
        {
            dict.Items.Add(new(items[i], items[i + 1]));
        }
    }

    internal static string Describe(object? value) => value switch
    {
        null => "None",
        string => "string",
        long => "integer",
        double => "float",
        bool => "bool",
        object?[] => "tuple",
        List<object?> => "list",
        PickleDict => "dict",
        TensorRef => "tensor",
        StorageRef => "storage",
        PickleGlobal g => g.ToString(),
        _ => value.GetType().Name,
    };

    private void Push(object? value)
    {
        // Each value costs tens of bytes once built: a budget, so a small compressed pickle of millions of empty dicts
        // cannot exhaust memory. A state_dict needs about 20 values per tensor.
        if (++_pushed > MaxValues)
        {
            Fail(string.Create(CultureInfo.InvariantCulture, $"the pickle builds more than {MaxValues} values; a state_dict needs far fewer"));
        }

        _stack.Add(value);
    }

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count - 1))
        {
            Fail("the pickle pops from an empty stack");
        }

        object? value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? PeekAny()
    {
        if (_stack.Count == 0 || ReferenceEquals(_stack[^1], Mark))
        {
            Fail("the pickle reads an empty stack");
        }

        return _stack[^1];
    }

    private TValue Peek<TValue>(string op) =>
        PeekAny() is TValue value ? value : Fail<TValue>($"{op} applies to a {Describe(_stack[^1])}");

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
        {
            Fail("the pickle closes a MARK it never opened");
        }

        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        List<object?> items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private object? Recall(long index) =>
        _memo.TryGetValue(index, out object? value) ? value : Fail<object?>(string.Create(CultureInfo.InvariantCulture, $"the pickle recalls memo {index}, never stored"));

    private byte ReadByte()
    {
        if (_pos >= _data.Length)
        {
            Fail("the pickle ends before its STOP opcode");
        }

        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Read(int count)
    {
        if (count < 0 || count > _data.Length - _pos)
        {
            Fail(string.Create(CultureInfo.InvariantCulture, $"the pickle ends inside a {count}-byte value at byte {_pos}"));
        }

        var span = new ReadOnlySpan<byte>(_data, _pos, count);
        _pos += count;
        return span;
    }

    private void Skip(int count) => Read(count);

    private int ReadLength(long length) =>
        length < 0 || length > _data.Length - _pos ? Fail<int>(string.Create(CultureInfo.InvariantCulture, $"a value claims {length} bytes, more than the pickle has left")) : (int)length;

    private string ReadString(int length)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(Read(length));
        }
        catch (DecoderFallbackException)
        {
            return Fail<string>("a string is not valid UTF-8");
        }
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0)
        {
            Fail("the pickle ends inside a text line");
        }

        string line = Encoding.Latin1.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return line;
    }

    private long ParseIndex(string line) =>
        long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : Fail<long>($"bad memo index '{line}'");

    private long ReadLong(int length)
    {
        ReadOnlySpan<byte> bytes = Read(length);
        if (length > 8)
        {
            Fail(string.Create(CultureInfo.InvariantCulture, $"an integer of {length} bytes is too large"));
        }

        long value = 0;
        for (int i = length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        if (length > 0 && length < 8 && (bytes[length - 1] & 0x80) != 0)
        {
            value -= 1L << (8 * length); // two's complement sign
        }

        return value;
    }

    [DoesNotReturn]
    private void Fail(string message) => throw new System.IO.InvalidDataException($"{_source}: {message}");

    [DoesNotReturn]
    private TValue Fail<TValue>(string message) => throw new System.IO.InvalidDataException($"{_source}: {message}");
}
