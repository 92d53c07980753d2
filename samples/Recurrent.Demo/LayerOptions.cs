using System;
using System.Collections.Generic;
using System.Globalization;

namespace Recurrent.Demo;

/// <summary>One configuration to walk through, from the command line or the built-in examples.</summary>
internal sealed record LayerOptions
{
    public string Kind { get; init; } = "lstm";

    public string? Title { get; init; }

    public int InputSize { get; init; } = 10;

    public int HiddenSize { get; init; } = 20;

    public int NumLayers { get; init; } = 1;

    public int ProjSize { get; init; }

    public bool Bidirectional { get; init; }

    public bool BatchFirst { get; init; }

    public bool Bias { get; init; } = true;

    public float Dropout { get; init; }

    public Nonlinearity Nonlinearity { get; init; } = Nonlinearity.Tanh;

    public int Batch { get; init; } = 3;

    public int Seq { get; init; } = 5;

    public bool Unbatched { get; init; }

    public bool WithState { get; init; }

    /// <summary>Timed Forward calls after the walk-through (0: none).</summary>
    public int Time { get; init; }

    /// <summary>Threads for the timed calls (0: the library's default).</summary>
    public int Threads { get; init; }

    public const string Usage = """
        usage: Recurrent.Demo                      walk through the classic examples
               Recurrent.Demo <lstm|gru|rnn> [options]
          --input-size N   --hidden-size N   --num-layers N   --proj-size N (lstm)
          --bidirectional  --batch-first     --no-bias        --dropout P
          --nonlinearity tanh|relu (rnn)     --batch N        --seq N
          --unbatched (2-D input)            --h0 (pass initial states)
          --time N (time N Forward calls on the span path)   --threads N
        """;

    /// <summary>Parses <c>kind --flag value …</c>; a malformed command line throws <see cref="FormatException"/>.</summary>
    public static LayerOptions Parse(IReadOnlyList<string> args)
    {
        string kind = args[0].ToLowerInvariant();
        if (kind is not ("lstm" or "gru" or "rnn"))
        {
            throw new FormatException($"unknown layer '{args[0]}': expected lstm, gru or rnn");
        }

        var o = new LayerOptions { Kind = kind };
        for (int i = 1; i < args.Count; i++)
        {
            string flag = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{flag} needs a value");
            int Int() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new FormatException($"{flag} needs a whole number, got '{args[i]}'");
            o = flag switch
            {
                "--input-size" => o with { InputSize = Int() },
                "--hidden-size" => o with { HiddenSize = Int() },
                "--num-layers" => o with { NumLayers = Int() },
                "--proj-size" when kind == "lstm" => o with { ProjSize = Int() },
                "--batch" => o with { Batch = Int() },
                "--seq" => o with { Seq = Int() },
                "--bidirectional" => o with { Bidirectional = true },
                "--batch-first" => o with { BatchFirst = true },
                "--no-bias" => o with { Bias = false },
                "--unbatched" => o with { Unbatched = true },
                "--h0" => o with { WithState = true },
                "--time" => o with { Time = Int() },
                "--threads" => o with { Threads = Int() },
                "--dropout" => o with
                {
                    Dropout = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out float p) ? p : throw new FormatException($"--dropout needs a number, got '{args[i]}'"),
                },
                "--nonlinearity" when kind == "rnn" => o with
                {
                    Nonlinearity = Value() switch
                    {
                        "tanh" => Nonlinearity.Tanh,
                        "relu" => Nonlinearity.Relu,
                        string other => throw new FormatException($"--nonlinearity is tanh or relu, got '{other}'"),
                    },
                },
                _ => throw new FormatException($"unknown option '{flag}' for {kind}"),
            };
        }

        if (o.Batch < 0 || o.Seq < 0 || o.Time < 0 || o.Threads < 0)
        {
            throw new FormatException("--batch, --seq, --time and --threads must be zero or greater");
        }

        return o;
    }
}
