using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;

namespace Recurrent.Benchmarks;

/// <summary>
/// Inference over every side-by-side configuration (<see cref="BenchConfig.All"/>) at 1 and 2 threads: the
/// <c>Tensor&lt;float&gt;</c> API, which allocates its outputs as PyTorch does, and the allocation-free span overload
/// with a reused workspace (0 B allocated per call).
/// </summary>
[MemoryDiagnoser]
public class ForwardBench
{
    private Action _tensor = null!;
    private Action _span = null!;

    public static IEnumerable<string> Configs => BenchConfig.All.Select(c => c.Name);

    [ParamsSource(nameof(Configs))]
    public string Config { get; set; } = BenchConfig.All[0].Name;

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.NumThreads = Threads;
        BenchConfig config = BenchConfig.Parse(Config);
        _tensor = CompareRunner.Build(config);
        _span = CompareRunner.BuildSpan(config);
    }

    [Benchmark(Baseline = true)]
    public void Tensor() => _tensor();

    [Benchmark]
    public void Span() => _span();
}
