namespace Recurrent.Engine;

/// <summary>
/// What a layer pass records for backpropagation, as a type: inference runs with <see cref="NoRecording"/> (every call
/// compiled away), a training forward with <c>Training.TapeRecording</c>; the kernels and the driver are the same.
/// </summary>
internal interface IStepRecorder
{
    /// <summary>Whether anything is recorded: the gate pass then writes the activated gates back over the input projection.</summary>
    public static abstract bool Records { get; }

    /// <summary>The gate buffer <c>(rows, packed gates)</c> of (layer, direction) <paramref name="index"/>, kept for the backward.</summary>
    public float[] Gates(int index);

    /// <summary>
    /// After the gate pass of one tile (step <paramref name="t"/>, sequences <paramref name="b0"/>.., units <paramref name="unit0"/>..): keeps what the
    /// running buffers will overwrite at the next step (c_t, GRU's <c>W_hn h + b_hn</c> left in the tile, the unprojected h).
    /// </summary>
    public void Keep(int index, int t, int b0, int rows, int unit0, int valid, ref float cell, nint ldCell, ref float tile, int tileStride, int unit, ref float hiddenFull, nint ldFull);
}

/// <summary>Inference: records nothing.</summary>
internal readonly struct NoRecording : IStepRecorder
{
    public static bool Records => false;

    public float[] Gates(int index) => [];

    public void Keep(int index, int t, int b0, int rows, int unit0, int valid, ref float cell, nint ldCell, ref float tile, int tileStride, int unit, ref float hiddenFull, nint ldFull)
    {
    }
}
