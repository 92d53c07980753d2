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
    public void Tagger_NvsN_LearnsEveryStepsTag()
    {
        var log = new StringWriter();
        TrainingReport report = RecordTagger.Train(epochs: 3, log, batchesPerEpoch: 20);
        report.FinalLoss.Should().BeLessThan(report.FirstLoss * 0.5f);
        report.Accuracy.Should().BeGreaterThan(0.95f, "always answering 'no record' is right on about 80 % of tokens; the model must beat that");
        log.ToString().Should().Contain("shapes: digits [32, 12] -> embedded [32, 12, 16] -> GRU output [32, 12, 32] -> logits [32, 12, 2]");
    }

    [Fact]
    public void Captioner_1vsN_LearnsTheSequenceFromOneInput()
    {
        var log = new StringWriter();
        TrainingReport report = CaptionGenerator.Train(epochs: 3, log, batchesPerEpoch: 20);
        report.FinalLoss.Should().BeLessThan(report.FirstLoss * 0.5f);
        report.Accuracy.Should().BeGreaterThan(0.9f, "chance is 1 in 12 tokens");
        log.ToString().Should().Contain("repeated [32, 6, 32] -> GRU output [32, 6, 48] -> logits [32, 6, 12]");
    }

    [Fact]
    public void Seq2Seq_LossFalls()
    {
        TrainingReport report = Seq2SeqReverser.Train(epochs: 4, TextWriter.Null, batchesPerEpoch: 25);
        report.FinalLoss.Should().BeLessThan(report.FirstLoss * 0.8f);
    }
}
