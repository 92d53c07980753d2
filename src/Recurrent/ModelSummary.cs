using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Text;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// What a chain of modules does to the shape of an input, without running it: every output's shape with the meaning of
/// each dimension (<c>(N=100, L=5, H_out=128)</c>), the recurrent layers' h_n and c_n, and every parameter with its
/// count — the view <c>model.summary()</c> or torchinfo give. A shape a module would refuse is refused here with that
/// module's own message.
/// </summary>
/// <example>
/// <code>
/// var summary = ModelSummary.Of([new Embedding(1000, 128), new Gru(128, 128, batchFirst: true)], 100, 5);
/// Console.WriteLine(summary);   // embedded (N=100, L=5, H_in=128), output (N=100, L=5, H_out=128), h_n (1, 100, 128)
/// </code>
/// </example>
public sealed class ModelSummary
{
    private ModelSummary(IReadOnlyList<Module> modules, int[] inputShape, IReadOnlyList<SummaryRow> rows)
    {
        Modules = modules;
        InputShape = inputShape;
        Rows = rows;
        foreach (Module module in modules)
        {
            foreach (Parameter p in module.Parameters())
            {
                TotalParameters += p.Length;
                TrainableParameters += p.RequiresGrad ? p.Length : 0;
            }
        }
    }

    /// <summary>The chain, first module first.</summary>
    public IReadOnlyList<Module> Modules { get; }

    /// <summary>The shape given to the first module.</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>The input, then each module's output (and a recurrent layer's h_n, c_n), in order.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; }

    /// <summary>Elements of every parameter of the chain.</summary>
    public long TotalParameters { get; }

    /// <summary>Elements of the parameters an optimizer may update (<see cref="Parameter.RequiresGrad"/>).</summary>
    public long TrainableParameters { get; }

    /// <summary>Follows <paramref name="inputShape"/> through <paramref name="modules"/>, each module's output the next one's input.</summary>
    /// <param name="modules">Embedding, Linear, Dropout, the recurrent layers and cells, in the order the data flows.</param>
    /// <param name="inputShape">The first module's input, e.g. <c>(N, L)</c> token ids for an Embedding.</param>
    /// <exception cref="ArgumentException">The chain is empty, a dimension is negative, or a module would refuse its input (its own message).</exception>
    public static ModelSummary Of(IReadOnlyList<Module> modules, params int[] inputShape)
    {
        if (modules is null)
        {
            ThrowHelper.Null(nameof(modules));
        }

        if (inputShape is null)
        {
            ThrowHelper.Null(nameof(inputShape));
        }

        if (modules.Count == 0)
        {
            ThrowHelper.Argument("a summary needs at least one module", nameof(modules));
        }

        if (inputShape.Any(d => d < 0))
        {
            ThrowHelper.Argument($"input shape {ShapeText.List(inputShape)} has a negative dimension", nameof(inputShape));
        }

        var rows = new List<SummaryRow>();
        int[] shape = (int[])inputShape.Clone();
        string[] labels = InputLabels(modules, shape.Length);
        rows.Add(new SummaryRow("", "input", shape, Dims(labels, shape), 0));
        for (int i = 0; i < modules.Count; i++)
        {
            Module module = modules[i] ?? throw new ArgumentNullException(nameof(modules), $"modules[{i}] is null");
            try
            {
                (shape, labels) = Follow(module, i + 1 < modules.Count ? modules[i + 1] : null, shape, labels, rows);
            }
            catch (ArgumentException e) when (e.ParamName is "input")
            {
                // The module's own words, and where in the chain it stands.
                string own = e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
                throw new ArgumentException($"modules[{i}], {module}, refuses input {ShapeText.List(shape)}: {own}", nameof(inputShape), e);
            }
        }

        return new ModelSummary(modules, inputShape, rows);
    }

    /// <summary>The table: every tensor with its shape and dimensions, then every parameter with its count.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        string chain = string.Join(" -> ", Modules.Select(m => m.ToString()));
        sb.Append(CultureInfo.InvariantCulture, $"{chain} on input {ShapeText.List(InputShape.ToArray())}").AppendLine();
        string[][] cells = Rows.Select(r => new[]
        {
            r.Module.Length == 0 ? "(input)" : r.Module,
            r.Name,
            ShapeText.List(r.Shape),
            r.Dimensions,
            r.Parameters == 0 ? "" : r.Parameters.ToString("N0", CultureInfo.InvariantCulture),
        }).ToArray();
        string[] header = ["module", "tensor", "shape", "dimensions", "parameters"];
        int[] widths = Enumerable.Range(0, header.Length).Select(c => cells.Append(header).Max(row => row[c].Length)).ToArray();
        for (int r = -1; r < cells.Length; r++)
        {
            string[] row = r < 0 ? header : cells[r];
            var line = new StringBuilder("  ");
            for (int c = 0; c < row.Length; c++)
            {
                // Repeated module names (a layer's h_n, c_n rows) are left blank; counts are right-aligned.
                string text = c == 0 && r > 0 && cells[r - 1][0] == row[0] ? "" : row[c];
                line.Append(c == row.Length - 1 ? text.PadLeft(widths[c]) : text.PadRight(widths[c] + 2));
            }

            sb.Append(line.ToString().TrimEnd(' ')).AppendLine();
        }

        sb.Append(CultureInfo.InvariantCulture, $"  total parameters {TotalParameters:N0} (trainable {TrainableParameters:N0})").AppendLine();
        var parameters = Modules.SelectMany((m, i) => m.NamedParameters().Select(p => (Index: i, p.Name, p.Parameter))).ToList();
        int nameWidth = parameters.Select(p => p.Name.Length).DefaultIfEmpty(0).Max();
        int shapeWidth = parameters.Select(p => ShapeText.List(p.Parameter.Shape).Length).DefaultIfEmpty(0).Max();
        foreach ((int index, string name, Parameter p) in parameters)
        {
            string shape = ShapeText.List(p.Shape);
            sb.Append(CultureInfo.InvariantCulture, $"    [{index}] {name.PadRight(nameWidth)}  {shape.PadRight(shapeWidth)}  {p.Length,12:N0}{(p.RequiresGrad ? "" : "  frozen")}").AppendLine();
        }

        return sb.ToString();
    }

    /// <summary>One module's rows; returns its output's shape and dimension names.</summary>
    private static (int[] Shape, string[] Labels) Follow(Module module, Module? next, int[] shape, string[] labels, List<SummaryRow> rows)
    {
        long count = module.Parameters().Sum(p => (long)p.Length);
        string repr = module.ToString();
        switch (module)
        {
            case Embedding embedding:
                shape = [.. shape, embedding.EmbeddingDim];
                labels = [.. LeadingLabels(next, shape.Length - 1, labels), next is RnnBase or RnnCellBase ? "H_in" : "embedding_dim"];
                rows.Add(new SummaryRow(repr, "output", shape, Dims(labels, shape), count));
                return (shape, labels);

            case RnnBase rnn:
                {
                    SequenceShape s = SequenceShape.Of(Broadcast(shape), rnn.BatchFirst, module.Name);
                    s.CheckFeatures(rnn.InputSize);
                    s.CheckSeqLen();
                    int d = rnn.Bidirectional ? 2 : 1, hOut = rnn.Spec.OutputSize, states = d * rnn.NumLayers;
                    string features = d == 1 ? "H_out" : "D*H_out";
                    SequenceShape output = s.WithFeatures(d * hOut);
                    shape = Array.ConvertAll(output.ToLengths(), n => (int)n);
                    rows.Add(new SummaryRow(repr, "output", shape, output.Describe(features), count));
                    rows.Add(State(repr, "h_n", s, states, "H_out", hOut));
                    if (rnn is Lstm)
                    {
                        rows.Add(State(repr, "c_n", s, states, "H_cell", rnn.HiddenSize));
                    }

                    return (shape, output.Unbatched ? ["L", features] : output.BatchFirst ? ["N", "L", features] : ["L", "N", features]);
                }

            case RnnCellBase cell:
                {
                    bool lstm = cell is LstmCell;
                    StepShape s = StepShape.Of(Broadcast(shape), null, null, module.Name, cell.InputSize, cell.HiddenSize, lstm);
                    shape = Array.ConvertAll(s.Lengths(cell.HiddenSize), n => (int)n);
                    labels = s.Unbatched ? ["H_out"] : ["N", "H_out"];
                    rows.Add(new SummaryRow(repr, "h'", shape, Dims(labels, shape), count));
                    if (lstm)
                    {
                        rows.Add(new SummaryRow(repr, "c'", shape, Dims(s.Unbatched ? ["H_cell"] : ["N", "H_cell"], shape), 0));
                    }

                    return (shape, labels);
                }

            case Linear linear:
                if (shape.Length < 1 || shape[^1] != linear.InFeatures)
                {
                    ThrowHelper.Argument(
                        string.Create(CultureInfo.InvariantCulture, $"mat1 and mat2 shapes cannot be multiplied: the last dimension is {(shape.Length < 1 ? 0 : shape[^1])}, Linear expects in_features={linear.InFeatures}"),
                        "input");
                }

                shape = [.. shape[..^1], linear.OutFeatures];
                labels = [.. labels[..^1], "out_features"];
                rows.Add(new SummaryRow(repr, "output", shape, Dims(labels, shape), count));
                return (shape, labels);

            case DropoutLayer:
                rows.Add(new SummaryRow(repr, "output", shape, Dims(labels, shape), count));
                return (shape, labels);

            default:
                throw new ArgumentException($"a summary follows Embedding, Linear, Dropout and the recurrent layers and cells; {repr} is none of them", nameof(module));
        }
    }

    private static SummaryRow State(string repr, string name, SequenceShape s, int states, string width, int size)
    {
        int[] shape = s.Unbatched ? [states, size] : [states, s.Batch, size];
        string dims = s.Unbatched
            ? string.Create(CultureInfo.InvariantCulture, $"(D*num_layers={states}, {width}={size})")
            : string.Create(CultureInfo.InvariantCulture, $"(D*num_layers={states}, N={s.Batch}, {width}={size})");
        return new SummaryRow(repr, name, shape, dims, 0);
    }

    /// <summary>A tensor of <paramref name="shape"/> over one stored value (all strides 0): the modules' own checks run on it without memory.</summary>
    private static Tensor<float> Broadcast(int[] shape) => Tensor.Create([0f], Array.ConvertAll(shape, d => (nint)d), new nint[shape.Length]);

    /// <summary>Names for the chain's input: the recurrent layer or cell it feeds names the sequence dimensions.</summary>
    private static string[] InputLabels(IReadOnlyList<Module> modules, int rank)
    {
        Module first = modules[0];
        return first switch
        {
            Embedding => LeadingLabels(modules.Count > 1 ? modules[1] : null, rank, []),
            RnnBase rnn => rank == 3 ? (rnn.BatchFirst ? ["N", "L", "H_in"] : ["L", "N", "H_in"]) : rank == 2 ? ["L", "H_in"] : Generic(rank),
            RnnCellBase => rank == 2 ? ["N", "H_in"] : rank == 1 ? ["H_in"] : Generic(rank),
            Linear => rank >= 1 ? [.. Generic(rank - 1), "in_features"] : Generic(rank),
            _ => Generic(rank),
        };
    }

    /// <summary>Names for the dimensions before the features: the sequence layout of the consumer when there is one.</summary>
    private static string[] LeadingLabels(Module? consumer, int rank, string[] known) => consumer switch
    {
        RnnBase rnn when rank == 2 => rnn.BatchFirst ? ["N", "L"] : ["L", "N"],
        RnnBase when rank == 1 => ["L"],
        RnnCellBase when rank == 1 => ["N"],
        _ when known.Length >= rank => known[..rank],
        _ => Generic(rank),
    };

    private static string[] SequenceLabels(SequenceShape s, string features) =>
        s.Unbatched ? ["L", features] : s.BatchFirst ? ["N", "L", features] : ["L", "N", features];

    private static string[] Generic(int rank) => Enumerable.Range(0, rank).Select(i => $"d{i}").ToArray();

    private static string Dims(string[] labels, int[] shape) =>
        "(" + string.Join(", ", labels.Zip(shape, (l, n) => string.Create(CultureInfo.InvariantCulture, $"{l}={n}"))) + ")";
}
