using System;
using System.IO;
using Recurrent.Demo;

// The shape walk-through: with no arguments, the classic examples; with arguments, any one configuration.
TextWriter output = Console.Out;
var walk = new ShapeWalkthrough(output);
if (args.Length == 0)
{
    walk.Encoder();
    foreach ((int layers, bool bidirectional) in new[] { (1, false), (1, true), (2, false), (2, true) })
    {
        walk.Layer(new LayerOptions
        {
            Kind = "rnn",
            Title = $"RNN, {layers} layer{(layers > 1 ? "s" : "")}, {(bidirectional ? "bidirectional" : "one-way")}: batch 2, seq 3, input 4, hidden 2",
            InputSize = 4,
            HiddenSize = 2,
            NumLayers = layers,
            Bidirectional = bidirectional,
            Batch = 2,
            Seq = 3,
        });
    }

    walk.Layer(new LayerOptions
    {
        Kind = "gru",
        Title = "GRU, 2 layers, bidirectional, batch_first: batch 8, seq 15, input 10, hidden 20",
        InputSize = 10,
        HiddenSize = 20,
        NumLayers = 2,
        Bidirectional = true,
        BatchFirst = true,
        Batch = 8,
        Seq = 15,
    });
    walk.Layer(new LayerOptions
    {
        Kind = "lstm",
        Title = "LSTM, 2 layers, with h0 and c0: batch 3, seq 5, input 10, hidden 20",
        NumLayers = 2,
        WithState = true,
    });
    walk.Packed();
    output.WriteLine("Run with arguments for any configuration, e.g.:");
    output.WriteLine("  dotnet run --project samples/Recurrent.Demo -- lstm --input-size 10 --hidden-size 20 --num-layers 2 --bidirectional --batch-first --batch 8 --seq 15");
    return 0;
}

if (args[0] is "-h" or "--help")
{
    output.WriteLine(LayerOptions.Usage);
    return 0;
}

try
{
    walk.Layer(LayerOptions.Parse(args));
    return 0;
}
catch (FormatException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(LayerOptions.Usage);
    return 2;
}
catch (ArgumentException e)
{
    // The library's own message: what was expected and what was given.
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
