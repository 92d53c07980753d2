using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Demo;

/// <summary>
/// <c>--time N</c>: the configuration's Forward on the allocation-free path, N timed calls after a warm-up, and the median;
/// with how the code runs (JIT or NativeAOT, the widest vector width, whether multiply-adds fuse), so a NativeAOT build
/// can be compared with the JIT build of the same program (<c>.ci/run</c> does, as a guard against a cliff).
/// </summary>
internal static class ForwardTiming
{
    public static void Run(TextWriter output, LayerOptions o, Module module, SequenceShape shape, int calls)
    {
        int d = o.Bidirectional ? 2 : 1, hOut = o.ProjSize > 0 ? o.ProjSize : o.HiddenSize;
        float[] input = new float[shape.SeqLen * shape.Batch * shape.Features];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (float)Math.Sin(i * 0.37);
        }

        float[] result = new float[shape.SeqLen * shape.Batch * d * hOut];
        float[] hN = new float[o.NumLayers * d * shape.Batch * hOut], cN = new float[o.NumLayers * d * shape.Batch * o.HiddenSize];
        var workspace = new RecurrentWorkspace();
        void Call()
        {
            switch (module)
            {
                case Lstm lstm:
                    lstm.Forward(input, shape, default, default, result, hN, cN, workspace);
                    break;
                case Gru gru:
                    gru.Forward(input, shape, default, result, hN, workspace);
                    break;
                default:
                    ((Rnn)module).Forward(input, shape, default, result, hN, workspace);
                    break;
            }
        }

        for (int i = 0; i < Math.Max(3, calls / 10); i++)
        {
            Call();
        }

        double[] ms = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Call();
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(ms);
        string width = Vector512.IsHardwareAccelerated ? "512" : Vector256.IsHardwareAccelerated ? "256" : Vector128.IsHardwareAccelerated ? "128" : "scalar";
        string runtime = RuntimeFeature.IsDynamicCodeCompiled ? "JIT" : "NativeAOT";
        output.WriteLine($"forward: median {ms[calls / 2]:F3} ms over {calls} calls ({runtime}, {width}-bit vectors, FMA {(Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "yes" : "no")}, {Parallelism.NumThreads} thread(s))");
        output.WriteLine($"forward-ms {ms[calls / 2]:F4}");
    }
}
