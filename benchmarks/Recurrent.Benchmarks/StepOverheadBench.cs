using BenchmarkDotNet.Attributes;

namespace Recurrent.Benchmarks;

/// <summary>
/// The per-step cost outside the math: hidden size 1, batch 1, 10,000 steps on one thread, so each step's arithmetic
/// is a handful of flops and the time per call / 10,000 is the driver's own overhead per step.
/// </summary>
[MemoryDiagnoser]
public class StepOverheadBench
{
    private const int Steps = 10_000;
    private readonly float[] _x = new float[Steps];
    private readonly float[] _output = new float[Steps];
    private readonly float[] _h = new float[1];
    private readonly float[] _c = new float[1];
    private readonly RecurrentWorkspace _workspace = new();
    private readonly SequenceShape _shape = new(Steps, 1, 1);
    private Rnn _rnn = null!;
    private Gru _gru = null!;
    private Lstm _lstm = null!;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.NumThreads = 1;
        _rnn = new Rnn(1, 1, seed: 0);
        _gru = new Gru(1, 1, seed: 0);
        _lstm = new Lstm(1, 1, seed: 0);
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public void RnnStep() => _rnn.Forward(_x, _shape, default, _output, _h, _workspace);

    [Benchmark(OperationsPerInvoke = Steps)]
    public void GruStep() => _gru.Forward(_x, _shape, default, _output, _h, _workspace);

    [Benchmark(OperationsPerInvoke = Steps)]
    public void LstmStep() => _lstm.Forward(_x, _shape, default, default, _output, _h, _c, _workspace);
}
