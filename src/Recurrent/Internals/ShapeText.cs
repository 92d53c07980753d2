using System;
using System.Globalization;
using System.Text;

namespace Recurrent.Internals;

/// <summary>PyTorch's two ways of writing a shape: <c>[2, 2, 3]</c> (a tensor's size) and <c>(1, 2, 3)</c> (an expected tuple).</summary>
internal static class ShapeText
{
    public static string List(ReadOnlySpan<nint> lengths) => Join(lengths, '[', ']');

    public static string Tuple(ReadOnlySpan<nint> lengths) =>
        lengths.Length == 1 ? "(" + lengths[0].ToString(CultureInfo.InvariantCulture) + ",)" : Join(lengths, '(', ')');

    public static string List(ReadOnlySpan<int> lengths)
    {
        Span<nint> n = lengths.Length <= 8 ? stackalloc nint[lengths.Length] : new nint[lengths.Length];
        for (int i = 0; i < lengths.Length; i++)
        {
            n[i] = lengths[i];
        }

        return List(n);
    }

    public static string Tuple(ReadOnlySpan<int> lengths)
    {
        Span<nint> n = lengths.Length <= 8 ? stackalloc nint[lengths.Length] : new nint[lengths.Length];
        for (int i = 0; i < lengths.Length; i++)
        {
            n[i] = lengths[i];
        }

        return Tuple(n);
    }

    private static string Join(ReadOnlySpan<nint> lengths, char open, char close)
    {
        var sb = new StringBuilder();
        sb.Append(open);
        for (int i = 0; i < lengths.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(lengths[i].ToString(CultureInfo.InvariantCulture));
        }

        return sb.Append(close).ToString();
    }
}
