using System;
using System.Globalization;
using System.Linq;
using Recurrent.Training;

// Training in C#, a loop that reads like PyTorch's, one sample per structure: `classify` (N vs 1), `tag` (N vs N),
// `caption` (1 vs N) and `reverse` (seq2seq, N vs M); and `gates`, the experiment that shows why LSTM and GRU beat a
// plain RNN. Each writes its charts as PNG into artifacts/charts (or the folder after --charts).
//   dotnet run --project samples/Recurrent.Training -c Release -- classify [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- tag [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- caption [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- reverse [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- gates [steps] [seeds]
int chartsAt = Array.IndexOf(args, "--charts");
string charts = chartsAt >= 0 && chartsAt + 1 < args.Length ? args[chartsAt + 1] : "artifacts/charts";
string[] positional = chartsAt >= 0 ? [.. args.Take(chartsAt), .. args.Skip(chartsAt + 2)] : args;
string task = positional.Length > 0 ? positional[0] : "classify";
int? Number(int at) => positional.Length > at ? int.Parse(positional[at], CultureInfo.InvariantCulture) : null;

if (task == "gates")
{
    GateResults results = GateExperiment.Run([5, 10, 20, 50, 100, 200], Number(1) ?? 600, Number(2) ?? 3, 100, Console.Out);
    (string accuracy, string gradients) = Charts.Gates(charts, results);
    Console.WriteLine($"charts: {accuracy}, {gradients}");
    return 0;
}

TrainingReport report = task switch
{
    "classify" => DigitGroupClassifier.Train(Number(1) ?? 12, Console.Out),
    "tag" => RecordTagger.Train(Number(1) ?? 10, Console.Out),
    "caption" => CaptionGenerator.Train(Number(1) ?? 10, Console.Out),
    "reverse" => Seq2SeqReverser.Train(Number(1) ?? 60, Console.Out),
    _ => throw new ArgumentException($"unknown task '{task}': use classify, tag, caption, reverse or gates"),
};
Console.WriteLine($"final loss {report.FinalLoss:F4} (first epoch {report.FirstLoss:F4}), accuracy {report.Accuracy:P1}; with the recurrent weights in bfloat16 {report.BFloat16Accuracy:P1}, in int8 {report.Int8Accuracy:P1}");
Console.WriteLine($"loss curve: {Charts.LossCurve(charts, task, report.EpochLosses)}");
return 0;
