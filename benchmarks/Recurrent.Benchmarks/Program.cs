using System;
using BenchmarkDotNet.Running;
using Recurrent.Benchmarks;

// `compare --threads N` prints the side-by-side timings (benchmarks/compare/run.sh); `chart TABLE.md OUT.png` draws
// that table; `configs` lists the configurations; `peak --threads N` measures the FMA peak and `floor` the batch-1
// weight-streaming floor; `streams` the stream host against one Forward call per stream; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "compare")
{
    return CompareRunner.Run(args);
}

if (args.Length > 0 && args[0] == "floor")
{
    return StreamingFloor.Run();
}

if (args.Length > 0 && args[0] == "peak")
{
    return PeakFlops.Run(args);
}

if (args.Length > 0 && args[0] == "streams")
{
    return StreamsBench.Run(args);
}

if (args.Length > 0 && args[0] == "chart")
{
    return CompareChart.Run(args);
}

// `configs`: the side-by-side configurations for the peers' programs (ONNX export, oneDNN), one per line:
// name, kind, layers, bidirectional, packed, train, B, T, I, H (tab-separated, flags 0/1).
if (args.Length > 0 && args[0] == "configs")
{
    foreach (BenchConfig c in BenchConfig.All)
    {
        Console.WriteLine(string.Join('\t', c.Name, c.Kind, c.Layers, c.Bidirectional ? 1 : 0, c.Packed ? 1 : 0, c.Train ? 1 : 0, c.Batch, c.Seq, c.Input, c.Hidden));
    }

    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(ForwardBench).Assembly).Run(args);
return 0;
