using System.IO;
using FluentAssertions;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests.Training;

/// <summary>Short runs of the training samples (samples/Recurrent.Training): the loss must fall.</summary>
public sealed class TrainingSampleTests
{
    [Fact]
    public void Classifier_LossFalls()
    {
        TrainingReport report = DigitGroupClassifier.Train(epochs: 3, TextWriter.Null, batchesPerEpoch: 20);
        report.FinalLoss.Should().BeLessThan(report.FirstLoss * 0.5f);
        report.Accuracy.Should().BeGreaterThan(0.8f, "three short epochs already beat chance (1/3) by far");
    }

    [Fact]
    public void Seq2Seq_LossFalls()
    {
        TrainingReport report = Seq2SeqReverser.Train(epochs: 4, TextWriter.Null, batchesPerEpoch: 25);
        report.FinalLoss.Should().BeLessThan(report.FirstLoss * 0.8f);
    }
}
