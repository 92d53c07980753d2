using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;

namespace Recurrent.Demo;

/// <summary>Runs one layer and prints every tensor's shape with what each dimension means, then the parameter shapes.</summary>
internal sealed class ShapeWalkthrough(TextWriter output)
{
    public void Layer(LayerOptions o)
    {
        int d = o.Bidirectional ? 2 : 1;
        int hOut = o.ProjSize > 0 ? o.ProjSize : o.HiddenSize;
        Module module = o.Kind switch
        {
            "lstm" => new Lstm(o.InputSize, o.HiddenSize, o.NumLayers, o.Bias, o.BatchFirst, o.Dropout, o.Bidirectional, o.ProjSize, seed: 0),
            "gru" => new Gru(o.InputSize, o.HiddenSize, o.NumLayers, o.Bias, o.BatchFirst, o.Dropout, o.Bidirectional, seed: 0),
            _ => new Rnn(o.InputSize, o.HiddenSize, o.NumLayers, o.Nonlinearity, o.Bias, o.BatchFirst, o.Dropout, o.Bidirectional, seed: 0),
        };
        module.Eval();
        output.WriteLine($"== {o.Title ?? module.ToString()} ==");
        if (o.Title is not null)
        {
            output.WriteLine($"   module: {module}");
        }

        Tensor<float> x = Random(1, o.Unbatched ? [o.Seq, o.InputSize] : o.BatchFirst ? [o.Batch, o.Seq, o.InputSize] : [o.Seq, o.Batch, o.InputSize]);
        SequenceShape shape = SequenceShape.Of(x, o.BatchFirst);
        if (o.Title is null)
        {
            // The command line's own configuration: first what the library says without running it, then the run.
            Summary(ModelSummary.Of([module], Array.ConvertAll(x.Lengths.ToArray(), n => (int)n)));
        }

        Tensor<float>? h0 = o.WithState ? Random(2, shape.StateLengths(o.NumLayers * d, hOut)) : null;
        Tensor<float>? c0 = o.WithState && o.Kind == "lstm" ? Random(3, shape.StateLengths(o.NumLayers * d, o.HiddenSize)) : null;

        Print("input", x, shape.Describe("H_in"), "the sequence: one H_in-vector per step" + (o.BatchFirst && !o.Unbatched ? " (batch_first)" : ""));
        if (h0 is not null)
        {
            Print("h0", h0, StateDims(shape, d, o.NumLayers, "H_out", hOut), "initial h of every layer and direction");
        }

        if (c0 is not null)
        {
            Print("c0", c0, StateDims(shape, d, o.NumLayers, "H_cell", o.HiddenSize), "initial cell state, hidden_size wide");
        }

        Tensor<float> result, hN;
        Tensor<float>? cN = null;
        switch (module)
        {
            case Lstm lstm:
                (result, hN, cN) = lstm.Forward(x, h0, c0);
                break;
            case Gru gru:
                (result, hN) = gru.Forward(x, h0);
                break;
            default:
                (result, hN) = ((Rnn)module).Forward(x, h0);
                break;
        }

        Print("output", result, shape.WithFeatures(d * hOut).Describe(d == 2 ? "D*H_out" : "H_out"),
            "the last layer's h at every step" + (d == 2 ? ", forward half then reverse half" : ""));
        Print("h_n", hN, StateDims(shape, d, o.NumLayers, "H_out", hOut), "final h of every layer; index layer*D + direction; never batch-first");
        if (cN is not null)
        {
            Print("c_n", cN, StateDims(shape, d, o.NumLayers, "H_cell", o.HiddenSize), "final cell state of every layer");
        }

        CheckLastStep(result, hN, shape, d, o.NumLayers, hOut);
        Parameters(module, o.Kind);
        if (o.Time > 0)
        {
            if (o.Threads > 0)
            {
                Parallelism.NumThreads = o.Threads;
            }

            ForwardTiming.Run(output, o, module, shape, o.Time);
        }

        output.WriteLine();
    }

    public void Encoder()
    {
        // The classic seq2seq encoder: nn.Embedding(vocab, hidden_size) then nn.GRU(hidden_size, hidden_size,
        // batch_first=True), the embedding as wide as the hidden state, on a (100, 5) batch of token ids.
        const int vocabulary = 1000, hidden = 128, embeddingDim = hidden, batch = 100, seq = 5;
        output.WriteLine("== Encoder: Embedding(1000, 128) + GRU(128, 128, batch_first=True), batch 100, sequence 5 ==");
        var embedding = new Embedding(vocabulary, embeddingDim, paddingIdx: 0, seed: 0);
        var gru = new Gru(embeddingDim, hidden, batchFirst: true, seed: 0).Eval();
        output.WriteLine($"   modules: {embedding}, {gru}");
        var random = new Random(4);
        long[] ids = Enumerable.Range(0, batch * seq).Select(_ => (long)random.Next(1, vocabulary)).ToArray();
        var tokens = Tensor.Create(ids, [batch, seq]);
        Row("tokens", tokens.Lengths, "(N=100, L=5)", "token ids in [0, 1000), Tensor<long>");
        Tensor<float> embedded = embedding.Forward(tokens);
        Print("embedded", embedded, "(N=100, L=5, H_in=128)", "each id replaced by its 128-wide row of the table");
        (Tensor<float> outputs, Tensor<float> hN) = gru.Forward(embedded);
        SequenceShape shape = SequenceShape.Of(embedded, batchFirst: true);
        Print("output", outputs, shape.WithFeatures(hidden).Describe("H_out"), "h at every step: what an attention decoder reads");
        Print("h_n", hN, StateDims(shape, 1, 1, "H_out", hidden), "the summary vector per sequence; never batch-first");
        Parameters(embedding, "embedding");
        Parameters(gru, "gru");
        Summary(ModelSummary.Of([embedding, gru], batch, seq));
        output.WriteLine();
    }

    /// <summary>Prints a chain's summary (shapes without running it, parameter counts), indented as the walk-through is.</summary>
    private void Summary(ModelSummary summary)
    {
        output.WriteLine("   ModelSummary.Of(modules, input shape), without running anything:");
        foreach (string line in summary.ToString().TrimEnd().Split('\n'))
        {
            output.WriteLine("   " + line);
        }
    }

    /// <summary>Sequences of different lengths: pad, pack, run a bidirectional GRU on the packed batch, unpack.</summary>
    public void Packed()
    {
        const int embeddingDim = 6, hidden = 4;
        output.WriteLine("== Variable lengths: 3 sentences of 4, 2 and 5 tokens, packed, through GRU(6, 4, bidirectional=True) ==");
        var embedding = new Embedding(50, embeddingDim, seed: 0);
        var gru = new Gru(embeddingDim, hidden, bidirectional: true, seed: 0).Eval();
        long[][] sentences = [[5, 9, 13, 2], [7, 41], [3, 3, 18, 27, 9]];
        Tensor<float>[] embedded = sentences.Select(s => embedding.Forward(Tensor.Create(s, [s.Length]))).ToArray();
        for (int i = 0; i < embedded.Length; i++)
        {
            Print($"seq[{i}]", embedded[i], string.Create(CultureInfo.InvariantCulture, $"(L_{i}={sentences[i].Length}, H_in={embeddingDim})"), "one sentence, embedded");
        }

        PackedSequence packed = RnnUtils.PackSequence(embedded, enforceSorted: false);
        Print("data", packed.Data, string.Create(CultureInfo.InvariantCulture, $"(sum(lengths)={packed.Data.Lengths[0]}, H_in={embeddingDim})"), "step 0's rows, then step 1's, ...: no padding");
        output.WriteLine($"   {"",-23}batch_sizes {Dims(packed.BatchSizes)}, sorted_indices {Dims(packed.SortedIndices)}: step t runs the first batch_sizes[t] sequences, longest first");
        (PackedSequence result, Tensor<float> hN) = gru.Forward(packed);
        Print("output", result.Data, string.Create(CultureInfo.InvariantCulture, $"(sum(lengths)={result.Data.Lengths[0]}, D*H_out={2 * hidden})"), "packed like the input, same batch_sizes");
        Print("h_n", hN, $"(D*num_layers=2, N=3, H_out={hidden})", "each sentence's h at its own last step; in your order");
        (Tensor<float> padded, int[] lengths) = RnnUtils.PadPackedSequence(result);
        Print("padded", padded, $"(L=5, N=3, D*H_out={2 * hidden})", $"back to a padded batch; lengths {Dims(lengths)}");

        // Each sentence's forward h_n is its output at its own last step; the reverse h_n is its output at step 0.
        float[] o = Flat(padded), h = Flat(hN);
        int width = 2 * hidden;
        bool forward = true, reverse = true, zeros = true;
        for (int b = 0; b < 3; b++)
        {
            forward &= o.AsSpan((((lengths[b] - 1) * 3) + b) * width, hidden).SequenceEqual(h.AsSpan(b * hidden, hidden));
            reverse &= o.AsSpan((b * width) + hidden, hidden).SequenceEqual(h.AsSpan((3 + b) * hidden, hidden));
            for (int t = lengths[b]; t < 5; t++)
            {
                zeros &= o.AsSpan(((t * 3) + b) * width, width).IndexOfAnyExcept(0f) < 0;
            }
        }

        output.WriteLine($"   check: output[lengths[b]-1, b][:H_out] == h_n[0, b] for every sentence  {(forward ? "yes" : "NO")}");
        output.WriteLine($"   check: output[0, b][H_out:] == h_n[1, b] (reverse starts at each sentence's end)  {(reverse ? "yes" : "NO")}");
        output.WriteLine($"   check: padding after each sentence is 0  {(zeros ? "yes" : "NO")}");
        output.WriteLine();
    }

    private static string StateDims(SequenceShape shape, int d, int layers, string name, int width) =>
        shape.Unbatched
            ? string.Create(CultureInfo.InvariantCulture, $"(D*num_layers={d * layers}, {name}={width})")
            : string.Create(CultureInfo.InvariantCulture, $"(D*num_layers={d * layers}, N={shape.Batch}, {name}={width})");

    private void CheckLastStep(Tensor<float> result, Tensor<float> hN, SequenceShape shape, int d, int layers, int hOut)
    {
        if (shape.Batch == 0)
        {
            return;
        }

        // Forward half of the last step is the last layer's forward h_n; the reverse half of step 0 is its reverse h_n.
        float[] o = Flat(result);
        float[] h = Flat(hN);
        int width = d * hOut;
        int StepOffset(int t) => shape.Unbatched || !shape.BatchFirst ? t * shape.Batch * width : t * width;
        int last = (layers - 1) * d;
        bool forward = o.AsSpan(StepOffset(shape.SeqLen - 1), hOut).SequenceEqual(h.AsSpan(last * shape.Batch * hOut, hOut));
        output.WriteLine($"   check: output[last step][:H_out] == h_n[{last}]  {(forward ? "yes" : "NO")}");
        if (d == 2)
        {
            bool reverse = o.AsSpan(StepOffset(0) + hOut, hOut).SequenceEqual(h.AsSpan((last + 1) * shape.Batch * hOut, hOut));
            output.WriteLine($"   check: output[step 0][H_out:] == h_n[{last + 1}]  {(reverse ? "yes" : "NO")}  (the reverse direction ends at step 0)");
        }
    }

    private void Parameters(Module module, string kind)
    {
        output.WriteLine($"   parameters of {module}:");
        foreach ((string name, Parameter p) in module.NamedParameters())
        {
            output.WriteLine($"     {name,-24} {Dims(p.Shape.ToArray().Select(v => (nint)v).ToArray()),-12} {Explain(name, kind)}");
        }
    }

    private static string Explain(string name, string kind)
    {
        string gates = kind switch
        {
            "lstm" => "4*hidden_size rows: gates i, f, g, o",
            "gru" => "3*hidden_size rows: gates r, z, n",
            _ => "hidden_size rows",
        };
        return name switch
        {
            "weight" => "(num_embeddings, embedding_dim): one row per id",
            _ when name.StartsWith("weight_ih", StringComparison.Ordinal) => $"({gates}) x (this layer's input features)",
            _ when name.StartsWith("weight_hh", StringComparison.Ordinal) => $"({gates}) x H_out",
            _ when name.StartsWith("weight_hr", StringComparison.Ordinal) => "(proj_size, hidden_size): projects h",
            _ => $"({gates})",
        };
    }

    private void Print(string name, Tensor<float> tensor, string dims, string meaning) => Row(name, tensor.Lengths, dims, meaning);

    private void Row(string name, ReadOnlySpan<nint> lengths, string dims, string meaning) =>
        output.WriteLine($"   {name,-9}{Dims(lengths),-14}{dims,-40} {meaning}");

    private static string Dims(ReadOnlySpan<nint> lengths) => "[" + string.Join(", ", lengths.ToArray()) + "]";

    private static string Dims(ReadOnlySpan<int> values) => "[" + string.Join(", ", values.ToArray()) + "]";

    private static float[] Flat(Tensor<float> tensor)
    {
        var values = new float[tensor.FlattenedLength];
        tensor.FlattenTo(values);
        return values;
    }

    private static Tensor<float> Random(int seed, nint[] lengths)
    {
        var random = new Random(seed);
        long count = lengths.Aggregate(1L, (a, b) => a * b);
        float[] values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return Tensor.Create(values, lengths);
    }
}
