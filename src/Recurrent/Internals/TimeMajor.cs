using System;

namespace Recurrent.Internals;

/// <summary>Copies between a sequence batch in its own layout (<see cref="SequenceShape"/>) and time-major <c>(L, N, F)</c> rows.</summary>
internal static class TimeMajor
{
    /// <summary>The rows of <paramref name="source"/> laid out as <paramref name="shape"/>, time-major into <paramref name="result"/>.</summary>
    public static float[] From(ReadOnlySpan<float> source, SequenceShape shape, float[] result)
    {
        if (shape.Unbatched || !shape.BatchFirst)
        {
            source.CopyTo(result);
            return result;
        }

        int f = shape.Features;
        for (int b = 0; b < shape.Batch; b++)
        {
            for (int t = 0; t < shape.SeqLen; t++)
            {
                source.Slice(((b * shape.SeqLen) + t) * f, f).CopyTo(result.AsSpan(((t * shape.Batch) + b) * f, f));
            }
        }

        return result;
    }

    /// <summary>Time-major rows written into <paramref name="destination"/> laid out as <paramref name="shape"/>.</summary>
    public static void To(ReadOnlySpan<float> timeMajor, SequenceShape shape, Span<float> destination)
    {
        if (shape.Unbatched || !shape.BatchFirst)
        {
            timeMajor.CopyTo(destination);
            return;
        }

        int f = shape.Features;
        for (int b = 0; b < shape.Batch; b++)
        {
            for (int t = 0; t < shape.SeqLen; t++)
            {
                timeMajor.Slice(((t * shape.Batch) + b) * f, f).CopyTo(destination.Slice(((b * shape.SeqLen) + t) * f, f));
            }
        }
    }
}
