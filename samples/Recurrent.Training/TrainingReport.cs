namespace Recurrent.Training;

/// <summary>How a training run went: the mean loss of the first and last epochs and the held-out accuracy.</summary>
public readonly record struct TrainingReport(float FirstLoss, float FinalLoss, float Accuracy);
