namespace Recurrent.Streaming;

/// <summary>What a <see cref="StreamHost"/> has done since it started.</summary>
/// <param name="Steps">Batched steps run (one forward call of the layer each).</param>
/// <param name="Chunks">Chunks completed.</param>
/// <param name="TimeSteps">Time steps of all completed chunks together.</param>
/// <param name="MaxRows">The most streams one step has run.</param>
/// <param name="OpenStreams">Streams open now.</param>
/// <param name="PendingChunks">Chunks waiting for a step now.</param>
/// <param name="AllocatedBytes">
/// Bytes the host's thread allocated inside its steps (gather, forward, scatter): grows while its buffers reach the
/// largest batch seen, then stays flat.
/// </param>
public readonly record struct StreamHostStatistics(
    long Steps, long Chunks, long TimeSteps, int MaxRows, int OpenStreams, int PendingChunks, long AllocatedBytes);
