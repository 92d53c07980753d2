using System;

namespace Recurrent.Internals;

/// <summary>Moves recurrent states <c>(S, N, width)</c> between the caller's batch order and a packed batch's sorted order.</summary>
internal static class StateOrder
{
    /// <summary>
    /// Writes <paramref name="states"/> into <paramref name="destination"/> with rows reordered: to sorted order, row b is the
    /// caller's row <c>sorted[b]</c>; back to the caller's order, the reverse. An empty <paramref name="sorted"/> is the identity.
    /// </summary>
    public static void Permute(ReadOnlySpan<float> states, Span<float> destination, int numStates, int batch, int width, ReadOnlySpan<int> sorted, bool toSorted)
    {
        if (sorted.IsEmpty)
        {
            states.CopyTo(destination);
            return;
        }

        for (int s = 0; s < numStates; s++)
        {
            for (int b = 0; b < batch; b++)
            {
                int from = toSorted ? sorted[b] : b, to = toSorted ? b : sorted[b];
                states.Slice(((s * batch) + from) * width, width).CopyTo(destination.Slice(((s * batch) + to) * width, width));
            }
        }
    }
}
