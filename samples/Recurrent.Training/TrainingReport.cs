namespace Recurrent.Training;

/// <summary>How a training run went: the mean loss of each epoch and the held-out accuracy.</summary>
public readonly record struct TrainingReport(float[] EpochLosses, float Accuracy)
{
    public float FirstLoss => EpochLosses[0];

    public float FinalLoss => EpochLosses[^1];
}
