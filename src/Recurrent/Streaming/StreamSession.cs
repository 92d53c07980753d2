using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace Recurrent.Streaming;

/// <summary>
/// One live sequence on a <see cref="StreamHost"/>: its own hidden state (and cell state for an LSTM), advanced one
/// chunk of time steps at a time. A stream runs one chunk at a time: await a submission before the next. Submissions
/// of different streams, from any threads, are batched by the host into one step of the layer; the outputs and the
/// state equal, bit for bit, running this stream's whole input alone through the layer's <c>Forward</c>.
/// </summary>
public sealed class StreamSession : IDisposable, IValueTaskSource<int>
{
    private readonly StreamHost _host;
    private ManualResetValueTaskSourceCore<int> _core = new() { RunContinuationsAsynchronously = true };
    private int _busy;

    // The fields below change under the host's lock.
    internal readonly float[] H;
    internal readonly float[] C;
    internal ReadOnlyMemory<float> Chunk;
    internal Memory<float> Output;
    internal int Steps;
    internal int Ticket;
    internal bool Queued;
    internal bool Running;
    internal bool Closed;
    internal CancellationTokenRegistration Registration;
    private long _stepsRun;

    internal StreamSession(StreamHost host, long id, ReadOnlySpan<float> state)
    {
        _host = host;
        Id = id;
        H = new float[host.NumLayers * host.OutputSize];
        C = new float[host.NumLayers * host.CellSize];
        if (!state.IsEmpty)
        {
            state[..H.Length].CopyTo(H);
            state[H.Length..].CopyTo(C);
        }
    }

    /// <summary>The host's number for this stream, unique among the streams it has opened.</summary>
    public long Id { get; }

    /// <summary>The host that runs this stream.</summary>
    public StreamHost Host => _host;

    /// <summary>Time steps this stream has run so far.</summary>
    public long StepsRun => Interlocked.Read(ref _stepsRun);

    /// <summary>Whether <see cref="Dispose"/> closed the stream (or the host was disposed).</summary>
    public bool IsClosed => Closed || _host.IsDisposed;

    /// <summary>
    /// Runs one chunk of <paramref name="chunk"/>.Length / input_size time steps, continuing from the state the previous
    /// chunk left, and returns that chunk's outputs, <c>(steps, H_out)</c> row-major.
    /// </summary>
    /// <param name="chunk">Row-major <c>(steps, input_size)</c>; finite values; not changed until the submission completes.</param>
    /// <param name="cancellationToken">Cancels the submission while it waits for room in the queue or for a step; once a step has taken it, it completes.</param>
    /// <exception cref="ArgumentException">The chunk is empty, not a whole number of steps, longer than the host allows, or holds NaN or infinity.</exception>
    /// <exception cref="InvalidOperationException">A chunk of this stream is still running.</exception>
    /// <exception cref="ObjectDisposedException">The stream or its host is closed.</exception>
    public ValueTask<float[]> SubmitAsync(ReadOnlyMemory<float> chunk, CancellationToken cancellationToken = default)
    {
        int steps = CheckChunk(chunk.Span, nameof(chunk));
        float[] output = new float[steps * _host.OutputSize];
        ValueTask<int> run = Submit(chunk, output, steps, cancellationToken);
        if (run.IsCompletedSuccessfully)
        {
            _ = run.Result; // consumes the result: frees the stream for its next chunk
            return new ValueTask<float[]>(output);
        }

        return WhenRun(run, output);

        static async ValueTask<float[]> WhenRun(ValueTask<int> run, float[] output)
        {
            await run.ConfigureAwait(false);
            return output;
        }
    }

    /// <summary>
    /// The allocation-free submission: runs one chunk and writes its outputs, <c>(steps, H_out)</c> row-major, into
    /// <paramref name="output"/>. Returns the steps run. While the host has room in its queue and the token cannot be
    /// cancelled, a submission allocates nothing.
    /// </summary>
    /// <param name="chunk">Row-major <c>(steps, input_size)</c>; finite values; not changed until the submission completes.</param>
    /// <param name="output">At least steps × H_out floats; written by the host's step.</param>
    /// <param name="cancellationToken">Cancels the submission while it waits for room in the queue or for a step; once a step has taken it, it completes.</param>
    /// <exception cref="ArgumentException">The chunk is empty, not a whole number of steps, longer than the host allows, or holds NaN or infinity; or the output is too short.</exception>
    /// <exception cref="InvalidOperationException">A chunk of this stream is still running.</exception>
    /// <exception cref="ObjectDisposedException">The stream or its host is closed.</exception>
    public ValueTask<int> SubmitAsync(ReadOnlyMemory<float> chunk, Memory<float> output, CancellationToken cancellationToken = default)
    {
        int steps = CheckChunk(chunk.Span, nameof(chunk));
        int needed = steps * _host.OutputSize;
        if (output.Length < needed)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"output must hold steps * H_out = {steps} * {_host.OutputSize} = {needed} floats, but got {output.Length}"),
                nameof(output));
        }

        return Submit(chunk, output, steps, cancellationToken);
    }

    /// <summary>Claims the stream, then a place in the queue (waiting for one if the queue is full), on checked arguments.</summary>
    private ValueTask<int> Submit(ReadOnlyMemory<float> chunk, Memory<float> output, int steps, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"stream {Id} is still running a chunk: await its SubmitAsync before submitting the next (a stream's chunks run in order, one at a time)"));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            Volatile.Write(ref _busy, 0);
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        return _host.TryTakeSlot() ? Enqueue(chunk, output, steps, cancellationToken) : SubmitWhenRoomAsync(chunk, output, steps, cancellationToken);
    }

    /// <summary>
    /// The state this stream would hand to another process: h for every layer (<c>num_layers × H_out</c>), then c for
    /// an LSTM (<c>num_layers × hidden_size</c>); <see cref="StreamHost.Open(ReadOnlySpan{float})"/> takes it back.
    /// </summary>
    /// <exception cref="InvalidOperationException">A chunk is still running (the state is between two values).</exception>
    public float[] ExportState()
    {
        float[] state = new float[_host.StateSize];
        ExportState(state);
        return state;
    }

    /// <summary>Writes the state (see <see cref="ExportState()"/>) into <paramref name="destination"/>, <see cref="StreamHost.StateSize"/> floats.</summary>
    /// <exception cref="ArgumentException">The destination is not <see cref="StreamHost.StateSize"/> floats.</exception>
    /// <exception cref="InvalidOperationException">A chunk is still running.</exception>
    public void ExportState(Span<float> destination)
    {
        if (destination.Length != _host.StateSize)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"a state of this host is {_host.StateSize} floats, but the destination holds {destination.Length}"), nameof(destination));
        }

        lock (_host.Gate)
        {
            if (Volatile.Read(ref _busy) != 0)
            {
                throw new InvalidOperationException(
                    string.Create(CultureInfo.InvariantCulture, $"stream {Id} is running a chunk: await its SubmitAsync before exporting the state"));
            }

            H.CopyTo(destination);
            C.CopyTo(destination[H.Length..]);
        }
    }

    /// <summary>Closes the stream: a chunk still waiting for a step fails with <see cref="ObjectDisposedException"/>; one already running completes.</summary>
    public void Dispose()
    {
        bool wasQueued;
        CancellationTokenRegistration registration = default;
        lock (_host.Gate)
        {
            if (Closed)
            {
                return;
            }

            Closed = true;
            wasQueued = Queued;
            Queued = false;
            if (wasQueued)
            {
                registration = Registration;
                Registration = default;
            }

            _host.OnClosedLocked();
        }

        if (wasQueued)
        {
            Fail(new ObjectDisposedException(nameof(StreamSession), $"stream {Id} was closed before its chunk ran"), registration);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"StreamSession({Id}, steps run {StepsRun}{(IsClosed ? ", closed" : "")})");

    private int CheckChunk(ReadOnlySpan<float> chunk, string paramName)
    {
        int inputSize = _host.InputSize;
        if (chunk.IsEmpty || chunk.Length % inputSize != 0)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"a chunk is (steps, input_size) with input_size {inputSize} and at least one step, but got {chunk.Length} floats"),
                paramName);
        }

        int steps = chunk.Length / inputSize;
        if (steps > _host.Options.MaxChunkSteps)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"a chunk holds at most MaxChunkSteps = {_host.Options.MaxChunkSteps} steps, but got {steps}"), paramName);
        }

        for (int i = 0; i < chunk.Length; i++)
        {
            if (!float.IsFinite(chunk[i]))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"a chunk must be finite, but step {i / inputSize}, feature {i % inputSize} is {chunk[i]}; the stream's state is unchanged"),
                    paramName);
            }
        }

        return steps;
    }

    private async ValueTask<int> SubmitWhenRoomAsync(ReadOnlyMemory<float> chunk, Memory<float> output, int steps, CancellationToken cancellationToken)
    {
        try
        {
            await _host.WaitForSlotAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _busy, 0);
            throw;
        }

        return await Enqueue(chunk, output, steps, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<int> Enqueue(ReadOnlyMemory<float> chunk, Memory<float> output, int steps, CancellationToken cancellationToken)
    {
        int ticket;
        short version;
        lock (_host.Gate)
        {
            if (IsClosed)
            {
                _host.ReleaseSlot();
                Volatile.Write(ref _busy, 0);
                ObjectDisposedException.ThrowIf(true, this);
            }

            Chunk = chunk;
            Output = output;
            Steps = steps;
            _core.Reset();
            version = _core.Version;
            ticket = ++Ticket;
            Queued = true;
            _host.EnqueueLocked(this, ticket);
        }

        if (cancellationToken.CanBeCanceled)
        {
            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((StreamSession)state!).Cancel(token), this);
            bool keep;
            lock (_host.Gate)
            {
                keep = Ticket == ticket && (Queued || Running);
                if (keep)
                {
                    Registration = registration;
                }
            }

            if (!keep)
            {
                registration.Unregister();
            }
        }

        return new ValueTask<int>(this, version);
    }

    private void Cancel(CancellationToken token)
    {
        lock (_host.Gate)
        {
            if (!Queued)
            {
                return;
            }

            Queued = false;
        }

        Fail(new OperationCanceledException(token));
    }

    /// <summary>The host's step ran this stream's chunk (called outside the lock).</summary>
    internal void Complete(CancellationTokenRegistration registration)
    {
        registration.Unregister();
        Interlocked.Add(ref _stepsRun, Steps);
        Chunk = default;
        Output = default;
        _core.SetResult(Steps);
    }

    /// <summary>The chunk did not run; the state is unchanged (called outside the lock).</summary>
    internal void Fail(Exception error, CancellationTokenRegistration registration = default)
    {
        registration.Unregister();
        Chunk = default;
        Output = default;
        _core.SetException(error);
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
