using BenchmarkDotNet.Running;
using Recurrent.Benchmarks;

// `compare --threads N` prints the side-by-side timings (benchmarks/compare/run.sh); `chart TABLE.md OUT.png` draws
// that table; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "compare")
{
    return CompareRunner.Run(args);
}

if (args.Length > 0 && args[0] == "chart")
{
    return CompareChart.Run(args);
}

BenchmarkSwitcher.FromAssembly(typeof(ForwardBench).Assembly).Run(args);
return 0;
