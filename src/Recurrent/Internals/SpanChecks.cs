using System;
using System.Globalization;

namespace Recurrent.Internals;

/// <summary>Checks of caller-provided memory for the span overloads. Messages are built only when a check fails.</summary>
internal static class SpanChecks
{
    /// <summary>A sequence tensor: <paramref name="span"/> must hold <paramref name="shape"/>'s elements.</summary>
    public static void Sequence(ReadOnlySpan<float> span, SequenceShape shape, string featureName, string paramName)
    {
        long expected = (long)shape.SeqLen * shape.Batch * shape.Features;
        if (span.Length != expected)
        {
            Fail(paramName, expected, shape.Describe(featureName), span.Length);
        }
    }

    /// <summary>A recurrent state <c>(numStates, N, width)</c> for <paramref name="shape"/>'s batch.</summary>
    public static void State(ReadOnlySpan<float> span, SequenceShape shape, int numStates, int width, string paramName)
    {
        long expected = (long)numStates * shape.Batch * width;
        if (span.Length != expected)
        {
            Fail(paramName, expected, ShapeText.Tuple(shape.StateLengths(numStates, width)), span.Length);
        }
    }

    /// <summary>Packed rows <c>(sum(lengths), width)</c>.</summary>
    public static void Packed(ReadOnlySpan<float> span, int rows, int width, string widthName, string paramName)
    {
        long expected = (long)rows * width;
        if (span.Length != expected)
        {
            Fail(paramName, expected, string.Create(CultureInfo.InvariantCulture, $"(sum(lengths)={rows}, {widthName}={width})"), span.Length);
        }
    }

    /// <summary>A cell's <c>(N, width)</c> rows.</summary>
    public static void Rows(ReadOnlySpan<float> span, int batch, int width, string widthName, string paramName)
    {
        long expected = (long)batch * width;
        if (span.Length != expected)
        {
            Fail(paramName, expected, string.Create(CultureInfo.InvariantCulture, $"(N={batch}, {widthName}={width})"), span.Length);
        }
    }

    /// <summary>Refuses a destination that shares memory with a source it would overwrite while still reading it.</summary>
    public static void NoOverlap(ReadOnlySpan<float> destination, ReadOnlySpan<float> source, string destinationName, string sourceName)
    {
        if (!destination.IsEmpty && !source.IsEmpty && destination.Overlaps(source))
        {
            ThrowHelper.Argument($"{destinationName} must not share memory with {sourceName}", destinationName);
        }
    }

    private static void Fail(string paramName, long expected, string shape, int actual) =>
        ThrowHelper.Argument(
            string.Create(CultureInfo.InvariantCulture, $"{paramName} must hold {expected} floats for {shape}, got {actual}"),
            paramName);
}
