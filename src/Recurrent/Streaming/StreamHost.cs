using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace Recurrent.Streaming;

/// <summary>
/// Serves many live sequences of one trained <see cref="Lstm"/>, <see cref="Gru"/> or <see cref="Rnn"/>: each
/// <see cref="StreamSession"/> keeps its own state, and whatever chunks are pending, from any number of streams and
/// threads, run together as one packed batch on the host's thread: one pass over the weights serves every stream.
/// A batch row gives the same bits as that sequence alone, so each stream's outputs and state equal running its whole
/// input through the layer's own <c>Forward</c>, whatever the batch it shared.
/// </summary>
/// <remarks>
/// The module runs in evaluation mode (dropout between layers would make the result depend on the batch), one direction
/// (a stream has no future to run backwards from). Its weights may be read by other callers meanwhile; change them only
/// with the host disposed. Inside a step the host's thread allocates nothing once its buffers fit the largest batch
/// seen (<see cref="StreamHostStatistics.AllocatedBytes"/>).
/// </remarks>
public sealed class StreamHost : IDisposable
{
    private readonly RnnBase _model;
    private readonly Thread _worker;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RecurrentWorkspace _workspace = new();

    // The queue: a ring of (stream, ticket); an entry whose ticket is no longer its stream's (cancelled, closed) is skipped.
    private readonly StreamSession?[] _ringStreams;
    private readonly int[] _ringTickets;
    private int _ringHead;
    private int _ringCount;

    // The batch of one step and its buffers, only grown.
    private readonly StreamSession[] _batch;

    // Each batch row's cancellation registration, taken with the step's results under one lock.
    private readonly CancellationTokenRegistration[] _registrations;
    private int[] _batchSizes = [];
    private float[] _input = [];
    private float[] _output = [];
    private float[] _h0 = [];
    private float[] _c0 = [];
    private float[] _hN = [];
    private float[] _cN = [];

    private long _nextId;
    private int _open;
    private int _held;
    private int _lastRows;
    private long _lastStepTicks;
    private bool _disposed;
    private long _steps;
    private long _chunks;
    private long _timeSteps;
    private int _maxRows;
    private long _allocated;

    /// <summary>Starts a host (and its thread) for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The model is bidirectional.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is not positive.</exception>
    public StreamHost(RnnBase model, StreamHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new StreamHostOptions();
        if (model.Bidirectional)
        {
            throw new ArgumentException($"a stream runs forwards only, but the model is bidirectional: {model}", nameof(model));
        }

        Positive(options.MaxBatchRows, nameof(options.MaxBatchRows));
        Positive(options.MaxChunkSteps, nameof(options.MaxChunkSteps));
        Positive(options.MaxPendingChunks, nameof(options.MaxPendingChunks));
        Positive(options.MaxOpenStreams, nameof(options.MaxOpenStreams));
        _model = model;
        Options = options;
        NumLayers = model.NumLayers;
        InputSize = model.InputSize;
        OutputSize = model.Spec.OutputSize;
        CellSize = model.Spec.Cell.HasCellState ? model.HiddenSize : 0;
        StateSize = NumLayers * (OutputSize + CellSize);
        _slots = new SemaphoreSlim(options.MaxPendingChunks, options.MaxPendingChunks);
        _ringStreams = new StreamSession?[options.MaxPendingChunks];
        _ringTickets = new int[options.MaxPendingChunks];
        _batch = new StreamSession[options.MaxBatchRows];
        _registrations = new CancellationTokenRegistration[options.MaxBatchRows];
        _worker = new Thread(Serve) { IsBackground = true, Name = "Recurrent stream host" };
        _worker.Start();
    }

    /// <summary>The module every stream runs.</summary>
    public RnnBase Model => _model;

    /// <summary>The limits this host was started with.</summary>
    public StreamHostOptions Options { get; }

    /// <summary>Features of one time step of a chunk (the model's <c>input_size</c>).</summary>
    public int InputSize { get; }

    /// <summary>Features of one output step (<c>H_out</c>: <c>proj_size</c> when set, else <c>hidden_size</c>).</summary>
    public int OutputSize { get; }

    /// <summary>Floats of one stream's state snapshot: <c>num_layers × H_out</c>, plus <c>num_layers × hidden_size</c> for an LSTM.</summary>
    public int StateSize { get; }

    /// <summary>What the host has done so far.</summary>
    public StreamHostStatistics Statistics
    {
        get
        {
            lock (Gate)
            {
                return new StreamHostStatistics(_steps, _chunks, _timeSteps, _maxRows, _open, _ringCount, _allocated);
            }
        }
    }

    internal object Gate { get; } = new();

    internal int NumLayers { get; }

    internal int CellSize { get; }

    internal bool IsDisposed => Volatile.Read(ref _disposed);

    /// <summary>Opens a stream whose state starts at zeros, as a <c>Forward</c> call without h0 (and c0).</summary>
    /// <exception cref="InvalidOperationException"><see cref="StreamHostOptions.MaxOpenStreams"/> streams are open.</exception>
    /// <exception cref="ObjectDisposedException">The host is disposed.</exception>
    public StreamSession Open() => Open([]);

    /// <summary>Opens a stream that continues from <paramref name="state"/>, a snapshot from <see cref="StreamSession.ExportState()"/> (of this host or another of the same model).</summary>
    /// <exception cref="ArgumentException">The state is not <see cref="StateSize"/> floats, or not finite.</exception>
    /// <exception cref="InvalidOperationException"><see cref="StreamHostOptions.MaxOpenStreams"/> streams are open.</exception>
    /// <exception cref="ObjectDisposedException">The host is disposed.</exception>
    public StreamSession Open(ReadOnlySpan<float> state)
    {
        if (!state.IsEmpty)
        {
            if (state.Length != StateSize)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"a state of this host is num_layers * (H_out{(CellSize > 0 ? " + hidden_size" : "")}) = {StateSize} floats, but got {state.Length}"),
                    nameof(state));
            }

            int bad = FirstNonFinite(state);
            if (bad >= 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"a state must be finite, but element {bad} is {state[bad]}"), nameof(state));
            }
        }

        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open >= Options.MaxOpenStreams)
            {
                throw new InvalidOperationException(
                    string.Create(CultureInfo.InvariantCulture, $"the host has MaxOpenStreams = {Options.MaxOpenStreams} streams open; close one first"));
            }

            _open++;
            return new StreamSession(this, ++_nextId, state);
        }
    }

    /// <summary>Stops the host's thread after the step it is running; chunks still waiting fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Monitor.PulseAll(Gate);
        }

        _stopping.Cancel();
        if (Thread.CurrentThread != _worker)
        {
            _worker.Join();
        }

        while (true)
        {
            StreamSession? stream;
            CancellationTokenRegistration registration;
            lock (Gate)
            {
                if (_ringCount == 0)
                {
                    break;
                }

                stream = TakeLocked(out registration);
            }

            stream?.Fail(new ObjectDisposedException(nameof(StreamHost), "the stream host was disposed before this chunk ran"), registration);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"StreamHost({_model}, {Statistics})";

    internal bool TryTakeSlot() => _slots.Wait(0);

    internal async Task WaitForSlotAsync(CancellationToken cancellationToken)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            await _slots.WaitAsync(both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(StreamHost), "the stream host was disposed while the chunk waited for room");
        }
    }

    internal void ReleaseSlot() => _slots.Release();

    internal void EnqueueLocked(StreamSession stream, int ticket)
    {
        int tail = (_ringHead + _ringCount) % _ringStreams.Length;
        _ringStreams[tail] = stream;
        _ringTickets[tail] = ticket;
        _ringCount++;
        Monitor.Pulse(Gate);
    }

    internal void OnClosedLocked() => _open--;

    /// <summary>
    /// For tests: while held, the host's thread takes no chunk, so a test can queue several and see them run as one step
    /// (or cancel one that is certainly still waiting). Releasing the hold wakes the thread.
    /// </summary>
    internal void Hold(bool held)
    {
        lock (Gate)
        {
            _held += held ? 1 : -1;
            Monitor.PulseAll(Gate);
        }
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be greater than zero");
        }
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Dequeues one entry; returns its stream if the entry is live (then no longer queued).</summary>
    private StreamSession? TakeLocked(out CancellationTokenRegistration registration)
    {
        StreamSession stream = _ringStreams[_ringHead]!;
        int ticket = _ringTickets[_ringHead];
        _ringStreams[_ringHead] = null;
        _ringHead = (_ringHead + 1) % _ringStreams.Length;
        _ringCount--;
        _slots.Release();
        registration = default;
        if (stream.Ticket != ticket || !stream.Queued)
        {
            return null;
        }

        stream.Queued = false;
        registration = stream.Registration;
        stream.Registration = default;
        return stream;
    }

    private void Serve()
    {
        while (true)
        {
            lock (Gate)
            {
                while ((_ringCount == 0 || _held > 0) && !_disposed)
                {
                    Monitor.Wait(Gate);
                }

                if (_disposed)
                {
                    return;
                }
            }

            AwaitStragglers();
            int rows = 0;
            lock (Gate)
            {
                while (_ringCount > 0 && rows < _batch.Length)
                {
                    StreamSession? stream = TakeLocked(out CancellationTokenRegistration registration);
                    if (stream is null)
                    {
                        continue;
                    }

                    stream.Running = true;
                    stream.Registration = registration;
                    _batch[rows++] = stream;
                }
            }

            if (rows > 0)
            {
                Step(rows);
            }
        }
    }

    /// <summary>
    /// Cellular batching: the streams the last step completed are most likely on their way back with their next chunk
    /// (their clients' continuations run now). While fewer chunks wait than the last step ran, the host yields its core
    /// to them, for at most half the last step's time: a step of a few rows costs nearly as much as one of many, so a
    /// short wait buys throughput at a bounded cost in latency. One waiting stream (or a lone stream) runs at once.
    /// </summary>
    private void AwaitStragglers()
    {
        int expected = Math.Min(_lastRows, _batch.Length);
        if (expected <= 1)
        {
            return;
        }

        long deadline = Stopwatch.GetTimestamp() + (_lastStepTicks / 2);
        while (Volatile.Read(ref _ringCount) < expected && !Volatile.Read(ref _disposed) && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Yield();
        }
    }

    /// <summary>One batched step over the <paramref name="rows"/> streams in <see cref="_batch"/>, then completes each.</summary>
    private void Step(int rows)
    {
        Exception? error = null;
        long started = Stopwatch.GetTimestamp();
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            if (_model.AppliesDropout)
            {
                throw new InvalidOperationException(
                    $"the model is in training mode with dropout between layers, which would make a stream's result depend on its batch; call Eval() on it before serving streams: {_model}");
            }

            Run(rows);
        }
        catch (Exception e)
        {
            error = e;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        _lastStepTicks = Stopwatch.GetTimestamp() - started;
        _lastRows = rows;
        int timeSteps = 0;
        lock (Gate)
        {
            for (int r = 0; r < rows; r++)
            {
                StreamSession stream = _batch[r];
                stream.Running = false;
                timeSteps += stream.Steps;
                _registrations[r] = stream.Registration;
                stream.Registration = default;
            }

            _steps++;
            _maxRows = Math.Max(_maxRows, rows);
            _allocated += allocated;
            if (error is null)
            {
                _chunks += rows;
                _timeSteps += timeSteps;
            }
        }

        for (int r = 0; r < rows; r++)
        {
            StreamSession stream = _batch[r];
            CancellationTokenRegistration registration = _registrations[r];
            _batch[r] = null!;
            _registrations[r] = default;
            if (error is null)
            {
                stream.Complete(registration);
            }
            else
            {
                stream.Fail(error, registration);
            }
        }
    }

    /// <summary>Gathers the chunks as a packed batch (longest first), runs the layer, scatters outputs and states back.</summary>
    private void Run(int rows)
    {
        StreamSession[] batch = _batch;

        // Longest chunk first, stable: a packed batch's rows at step t are the chunks longer than t.
        for (int i = 1; i < rows; i++)
        {
            StreamSession s = batch[i];
            int j = i - 1;
            for (; j >= 0 && batch[j].Steps < s.Steps; j--)
            {
                batch[j + 1] = batch[j];
            }

            batch[j + 1] = s;
        }

        int seqLen = batch[0].Steps;
        int total = 0;
        for (int r = 0; r < rows; r++)
        {
            total += batch[r].Steps;
        }

        int inputSize = InputSize, hOut = OutputSize, cellSize = CellSize, layers = NumLayers;
        Grow(ref _batchSizes, seqLen);
        Grow(ref _input, total * inputSize);
        Grow(ref _output, total * hOut);
        Grow(ref _h0, layers * rows * hOut);
        Grow(ref _hN, layers * rows * hOut);
        Grow(ref _c0, layers * rows * cellSize);
        Grow(ref _cN, layers * rows * cellSize);

        int active = rows, row = 0;
        for (int t = 0; t < seqLen; t++)
        {
            while (batch[active - 1].Steps <= t)
            {
                active--;
            }

            _batchSizes[t] = active;
            for (int r = 0; r < active; r++, row++)
            {
                batch[r].Chunk.Span.Slice(t * inputSize, inputSize).CopyTo(_input.AsSpan(row * inputSize, inputSize));
            }
        }

        for (int l = 0; l < layers; l++)
        {
            for (int r = 0; r < rows; r++)
            {
                batch[r].H.AsSpan(l * hOut, hOut).CopyTo(_h0.AsSpan(((l * rows) + r) * hOut, hOut));
                batch[r].C.AsSpan(l * cellSize, cellSize).CopyTo(_c0.AsSpan(((l * rows) + r) * cellSize, cellSize));
            }
        }

        _model.ForwardPacked(
            _input.AsSpan(0, total * inputSize),
            _batchSizes.AsSpan(0, seqLen),
            _h0.AsSpan(0, layers * rows * hOut),
            _c0.AsSpan(0, layers * rows * cellSize),
            _output.AsSpan(0, total * hOut),
            _hN.AsSpan(0, layers * rows * hOut),
            _cN.AsSpan(0, layers * rows * cellSize),
            _workspace);

        row = 0;
        for (int t = 0; t < seqLen; t++)
        {
            for (int r = 0; r < _batchSizes[t]; r++, row++)
            {
                _output.AsSpan(row * hOut, hOut).CopyTo(batch[r].Output.Span.Slice(t * hOut, hOut));
            }
        }

        for (int l = 0; l < layers; l++)
        {
            for (int r = 0; r < rows; r++)
            {
                _hN.AsSpan(((l * rows) + r) * hOut, hOut).CopyTo(batch[r].H.AsSpan(l * hOut, hOut));
                _cN.AsSpan(((l * rows) + r) * cellSize, cellSize).CopyTo(batch[r].C.AsSpan(l * cellSize, cellSize));
            }
        }
    }

    private static void Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }
    }
}
