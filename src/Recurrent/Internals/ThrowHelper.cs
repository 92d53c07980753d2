using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Recurrent.Internals;

/// <summary>Every exception the library throws to a user is built here, so messages stay in one voice.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn, StackTraceHidden]
    public static void Argument(string message, string? paramName) => throw new ArgumentException(message, paramName);

    [DoesNotReturn, StackTraceHidden]
    public static void OutOfRange(string paramName, object? actual, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actual, message);

    [DoesNotReturn, StackTraceHidden]
    public static void Null(string paramName) => throw new ArgumentNullException(paramName);
}
