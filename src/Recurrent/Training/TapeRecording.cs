using Recurrent.Engine;

namespace Recurrent.Training;

/// <summary>A training forward's recorder: each direction's gates and per-tile state go into <paramref name="tape"/>.</summary>
internal readonly struct TapeRecording(BpttTape tape) : IStepRecorder
{
    public static bool Records => true;

    public float[] Gates(int index) => tape.Directions[index].PackedGates;

    public void Keep(int index, int t, int b0, int rows, int unit0, int valid, ref float cell, nint ldCell, ref float tile, int tileStride, int unit, ref float hiddenFull, nint ldFull) =>
        tape.Directions[index].Keep(t, b0, rows, unit0, valid, ref cell, ldCell, ref tile, tileStride, unit, ref hiddenFull, ldFull);
}
