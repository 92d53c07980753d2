using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Recurrent.Benchmarks;

// ONNX Runtime on the side-by-side configurations: `Recurrent.Peers.Onnx MODELS_DIR THREADS SECONDS [filter]` reads the
// models benchmarks/compare/export_onnx.py wrote (MODELS_DIR/manifest.tsv: name, file, lengths) and prints
// `name<TAB>median ms` per line. One session per model with IntraOpNumThreads = THREADS, sequential execution, every
// graph optimisation; inputs and outputs bound once to preallocated buffers, so a timed call is session.Run alone.
string folder = args[0];
int threads = int.Parse(args[1], CultureInfo.InvariantCulture);
double seconds = double.Parse(args[2], CultureInfo.InvariantCulture);
string only = args.Length > 3 ? args[3] : "";
var random = new Random(1);
foreach (string line in File.ReadAllLines(Path.Combine(folder, "manifest.tsv")))
{
    string[] f = line.Split('\t');
    if (!f[0].Contains(only, StringComparison.Ordinal))
    {
        continue;
    }

    using var options = new SessionOptions
    {
        IntraOpNumThreads = threads,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };
    using var session = new InferenceSession(Path.Combine(folder, f[1]), options);
    var inputs = new List<OrtValue>();
    foreach ((string name, NodeMetadata meta) in session.InputMetadata)
    {
        long[] shape = [.. meta.Dimensions.Select(d => (long)d)];
        if (name == "lengths")
        {
            inputs.Add(OrtValue.CreateTensorValueFromMemory(f[2].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(), shape));
        }
        else
        {
            float[] values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2) - 1);
            }

            inputs.Add(OrtValue.CreateTensorValueFromMemory(values, shape));
        }
    }

    var outputs = session.OutputMetadata.Values
        .Select(meta => OrtValue.CreateTensorValueFromMemory(new float[meta.Dimensions.Aggregate(1L, (a, b) => a * b)], [.. meta.Dimensions.Select(d => (long)d)]))
        .ToList();
    using var runOptions = new RunOptions();
    string[] inputNames = [.. session.InputMetadata.Keys], outputNames = [.. session.OutputMetadata.Keys];
    double ms = MedianTimer.Median(() => session.Run(runOptions, inputNames, inputs, outputNames, outputs), seconds);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{f[0]}\t{ms:F4}"));
    inputs.ForEach(v => v.Dispose());
    outputs.ForEach(v => v.Dispose());
}

return 0;
