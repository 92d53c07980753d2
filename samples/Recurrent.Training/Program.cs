using System;
using Recurrent.Training;

// Training in C#, a loop that reads like PyTorch's, one sample per structure: `classify` (N vs 1), `tag` (N vs N),
// `caption` (1 vs N) and `reverse` (seq2seq, N vs M).
//   dotnet run --project samples/Recurrent.Training -c Release -- classify [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- tag [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- caption [epochs]
//   dotnet run --project samples/Recurrent.Training -c Release -- reverse [epochs]
string task = args.Length > 0 ? args[0] : "classify";
int? epochs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : null;
TrainingReport report = task switch
{
    "classify" => DigitGroupClassifier.Train(epochs ?? 12, Console.Out),
    "tag" => RecordTagger.Train(epochs ?? 10, Console.Out),
    "caption" => CaptionGenerator.Train(epochs ?? 10, Console.Out),
    "reverse" => Seq2SeqReverser.Train(epochs ?? 60, Console.Out),
    _ => throw new ArgumentException($"unknown task '{task}': use classify, tag, caption or reverse"),
};
Console.WriteLine($"final loss {report.FinalLoss:F4} (first epoch {report.FirstLoss:F4}), accuracy {report.Accuracy:P1}");
return 0;
