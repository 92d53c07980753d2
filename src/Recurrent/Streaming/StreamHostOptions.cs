namespace Recurrent.Streaming;

/// <summary>Limits of a <see cref="StreamHost"/>: how much one batched step takes and how much may wait.</summary>
public sealed record StreamHostOptions
{
    /// <summary>Streams one batched step runs at most (rows of the batch); more pending chunks wait for the next step. Default 256.</summary>
    public int MaxBatchRows { get; init; } = 256;

    /// <summary>Time steps one chunk may hold. Default 256.</summary>
    public int MaxChunkSteps { get; init; } = 256;

    /// <summary>
    /// Chunks that may wait for a step, all streams together. A submission beyond it waits (asynchronously, cancellably)
    /// until a step takes some: the back-pressure that keeps a burst from growing memory without bound. Default 4096.
    /// </summary>
    public int MaxPendingChunks { get; init; } = 4096;

    /// <summary>Streams that may be open at once; <see cref="StreamHost.Open()"/> refuses one more. Default 1,000,000.</summary>
    public int MaxOpenStreams { get; init; } = 1_000_000;
}
