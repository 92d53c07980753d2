namespace Recurrent.Training;

/// <summary>
/// How a training run went: the mean loss of each epoch, the held-out accuracy, and the same accuracy with the trained
/// recurrent layers' weights in bfloat16 and in int8 (<c>Quantize(WeightPrecision.BFloat16)</c>,
/// <c>Quantize(WeightPrecision.Int8)</c>: inference-only copies).
/// </summary>
public readonly record struct TrainingReport(float[] EpochLosses, float Accuracy, float BFloat16Accuracy, float Int8Accuracy)
{
    public float FirstLoss => EpochLosses[0];

    public float FinalLoss => EpochLosses[^1];
}
