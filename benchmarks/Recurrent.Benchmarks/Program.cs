using BenchmarkDotNet.Running;
using Recurrent.Benchmarks;

// `compare --threads N` prints the side-by-side timings (benchmarks/compare/run.sh); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "compare")
{
    return CompareRunner.Run(args);
}

BenchmarkSwitcher.FromAssembly(typeof(ForwardBench).Assembly).Run(args);
return 0;
