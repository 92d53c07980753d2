using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Recurrent.Benchmarks.LstmForwardBench).Assembly).Run(args);
