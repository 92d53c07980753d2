using System;
using System.Globalization;
using System.Linq;

namespace Recurrent.Benchmarks;

/// <summary>
/// The side-by-side configurations (performance issue): kind, layers, direction, B, T, I, H. The same list is in
/// benchmarks/compare/compare_torch.py; <see cref="Name"/> is the key that joins the two. A packed config runs a
/// PackedSequence of the same padded tensor with <see cref="MixedLengths"/> (packed beforehand, not timed).
/// </summary>
public sealed record BenchConfig(string Kind, int Batch, int Seq, int Input, int Hidden, int Layers = 1, bool Bidirectional = false, bool Packed = false, bool Train = false)
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
        new("lstm", 32, 100, 256, 512, Packed: true),
        new("lstm", 64, 50, 512, 1024, Packed: true),
        new("lstm", 32, 100, 256, 256, Layers: 2, Bidirectional: true, Packed: true),
        new("gru", 32, 100, 256, 512, Packed: true),
        new("rnn", 32, 100, 256, 512, Packed: true),
        new("lstm", 4, 100, 128, 256, Packed: true),
        new("lstm", 4, 100, 128, 256),
        new("lstm", 1, 100, 128, 256, Train: true),
        new("lstm", 32, 100, 256, 512, Train: true),
        new("gru", 32, 100, 256, 512, Train: true),
        new("gru", 1, 100, 128, 256, Train: true),
        new("rnn", 32, 100, 256, 512, Train: true),
        new("lstm", 32, 100, 256, 256, Layers: 2, Bidirectional: true, Train: true),
        new("lstm", 32, 100, 256, 512, Packed: true, Train: true),
    ];

    /// <summary>The lengths of a packed config: the first sequence full length, the others spread over 1..T (mean about T/2).</summary>
    public int[] MixedLengths()
    {
        int[] lengths = new int[Batch];
        for (int b = 0; b < Batch; b++)
        {
            lengths[b] = b == 0 ? Seq : 1 + ((b * 37) % Seq);
        }

        return lengths;
    }

    public string Name => string.Create(
        CultureInfo.InvariantCulture,
        $"{Kind}{(Layers > 1 ? $" {Layers}-layer" : "")}{(Bidirectional ? " bi" : "")}{(Packed ? " packed" : "")}{(Train ? " train" : "")} {Batch},{Seq},{Input},{Hidden}");

    /// <summary>Gate blocks of the layer's weights: 4 (LSTM), 3 (GRU), 1 (RNN).</summary>
    public int Gates => Kind switch { "lstm" or "lstmcell" => 4, "gru" => 3, _ => 1 };

    /// <summary>Multiply-adds × 2 of the forward pass: every layer's input projection and recurrent product.</summary>
    public double Flops
    {
        get
        {
            int d = Bidirectional ? 2 : 1;
            double total = 0;
            double rows = Packed ? MixedLengths().Sum(l => (double)l) : (double)Seq * Batch;
            for (int layer = 0; layer < Layers; layer++)
            {
                int input = layer == 0 ? Input : d * Hidden;
                total += 2.0 * d * rows * Gates * Hidden * (input + Hidden);
            }

            // A training step: the forward, then backward's recurrent product, the input gradient and the weight gradients.
            return Train ? 3 * total : total;
        }
    }

    public static BenchConfig Parse(string name) => Array.Find(All, c => c.Name == name) ?? throw new ArgumentException($"unknown config '{name}'");
}
