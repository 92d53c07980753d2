using System;
using System.Globalization;

namespace Recurrent.Benchmarks;

/// <summary>
/// The side-by-side configurations (performance issue): kind, layers, direction, B, T, I, H. The same list is in
/// benchmarks/compare/compare_torch.py; <see cref="Name"/> is the key that joins the two.
/// </summary>
public sealed record BenchConfig(string Kind, int Batch, int Seq, int Input, int Hidden, int Layers = 1, bool Bidirectional = false)
{
    public static readonly BenchConfig[] All =
    [
        new("lstm", 1, 100, 128, 256),
        new("lstm", 1, 100, 512, 512),
        new("lstm", 32, 100, 256, 512),
        new("lstm", 64, 50, 512, 1024),
        new("lstm", 32, 100, 256, 256, Layers: 2, Bidirectional: true),
        new("gru", 1, 100, 128, 256),
        new("gru", 1, 100, 512, 512),
        new("gru", 32, 100, 256, 512),
        new("gru", 64, 50, 512, 1024),
        new("rnn", 1, 100, 128, 256),
        new("rnn", 1, 100, 512, 512),
        new("rnn", 32, 100, 256, 512),
        new("rnn", 64, 50, 512, 1024),
        new("lstmcell", 1, 1, 256, 256),
    ];

    public string Name => string.Create(
        CultureInfo.InvariantCulture,
        $"{Kind}{(Layers > 1 ? $" {Layers}-layer" : "")}{(Bidirectional ? " bi" : "")} {Batch},{Seq},{Input},{Hidden}");

    /// <summary>Multiply-adds × 2 of the forward pass: every layer's input projection and recurrent product.</summary>
    public double Flops
    {
        get
        {
            int gates = Kind switch { "lstm" or "lstmcell" => 4, "gru" => 3, _ => 1 };
            int d = Bidirectional ? 2 : 1;
            double total = 0;
            for (int layer = 0; layer < Layers; layer++)
            {
                int input = layer == 0 ? Input : d * Hidden;
                total += 2.0 * d * Seq * Batch * gates * Hidden * (input + Hidden);
            }

            return total;
        }
    }

    public static BenchConfig Parse(string name) => Array.Find(All, c => c.Name == name) ?? throw new ArgumentException($"unknown config '{name}'");
}
