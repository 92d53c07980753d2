using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace Recurrent.Training;

/// <summary>
/// A module's training memory: the backward's temporaries (<see cref="Scratch"/>, reused from call to call) and the recorded
/// training forwards that still wait for their Backward, as values: each record owns its tape memory
/// (a <see cref="TrainingScratch"/>), so several forwards (a cell unrolled over T steps, a layer called twice) can each be
/// backpropagated, newest first, as autograd walks an unrolled loop backwards. A consumed record's memory is kept for the
/// next forward, so a training loop stops allocating after its first iteration. Memory stays bounded when no Backward
/// comes: past <see cref="BudgetFloats"/> held (pending and idle together) or <see cref="MaxPending"/> records, the oldest
/// records are dropped, never the newest. One module's training calls are not concurrent.
/// </summary>
/// <typeparam name="TRecord">What the module keeps of a forward besides its tape memory (shapes, the tape).</typeparam>
internal sealed class TrainingMemory<TRecord>
    where TRecord : class
{
    /// <summary>256 MiB of floats per module: a 100-step LSTM cell loop at batch 64, H 512 holds about 90 MB.</summary>
    public const long BudgetFloats = 1L << 26;

    /// <summary>At most this many forwards wait, however small.</summary>
    public const int MaxPending = 1 << 16;

    // Oldest first from _head; popped from the end, dropped from the front.
    private readonly List<(TRecord Record, TrainingScratch Memory, long Floats)> _pending = [];
    private readonly Stack<TrainingScratch> _idle = new();
    private int _head;
    private long _pendingFloats, _idleFloats;
    private int _dropped;

    /// <summary>How many forwards wait for their Backward.</summary>
    public int Count => _pending.Count - _head;

    /// <summary>The backward's temporaries and the gradient targets of frozen parameters, kept between calls.</summary>
    public TrainingScratch Scratch { get; } = new();

    /// <summary>Every float held: the scratch, the pending records and the idle tape memory.</summary>
    public long HeldFloats => Scratch.HeldFloats + _pendingFloats + _idleFloats;

    /// <summary>Tape memory for a new record: a consumed record's, or new.</summary>
    public TrainingScratch Rent()
    {
        if (_idle.Count == 0)
        {
            return new TrainingScratch();
        }

        TrainingScratch memory = _idle.Pop();
        _idleFloats -= memory.HeldFloats;
        return memory;
    }

    /// <summary>Adds a record whose tape lives in <paramref name="memory"/> (from <see cref="Rent"/>), then keeps within the budget.</summary>
    public void Push(TRecord record, TrainingScratch memory)
    {
        if (Count == 0)
        {
            _dropped = 0; // a new run of forwards: what was dropped before no longer explains a refusal
        }

        long floats = memory.HeldFloats;
        _pending.Add((record, memory, floats));
        _pendingFloats += floats;
        if (_pendingFloats + _idleFloats <= BudgetFloats && Count <= MaxPending)
        {
            return;
        }

        _idle.Clear();
        _idleFloats = 0;
        while (Count > 1 && (_pendingFloats > BudgetFloats || Count > MaxPending))
        {
            _pendingFloats -= _pending[_head].Floats;
            _pending[_head] = default;
            _head++;
            _dropped++;
        }

        if (_head > _pending.Count / 2)
        {
            _pending.RemoveRange(0, _head);
            _head = 0;
        }
    }

    /// <summary>The newest record, left on the stack (to check a Backward's arguments before consuming it).</summary>
    /// <exception cref="InvalidOperationException">No forward waits (none recorded, each already backpropagated, or dropped).</exception>
    public TRecord Peek(string module)
    {
        if (Count == 0)
        {
            ThrowNoRecord(module);
        }

        return _pending[^1].Record;
    }

    /// <summary>
    /// The newest record, taken off the stack; hand its memory back with <see cref="Return"/> once its Backward has read it.
    /// </summary>
    /// <exception cref="InvalidOperationException">No forward waits (none recorded, each already backpropagated, or dropped).</exception>
    public (TRecord Record, TrainingScratch Memory) Pop(string module)
    {
        if (Count == 0)
        {
            ThrowNoRecord(module);
        }

        (TRecord record, TrainingScratch memory, long floats) = _pending[^1];
        _pending.RemoveAt(_pending.Count - 1);
        _pendingFloats -= floats;
        if (Count == 0)
        {
            _pending.Clear();
            _head = 0;
        }

        return (record, memory);
    }

    /// <summary>Keeps a consumed record's memory for the next forward.</summary>
    public void Return(TrainingScratch memory)
    {
        _idle.Push(memory);
        _idleFloats += memory.HeldFloats;
    }

    /// <summary>
    /// Lets the memory go that no pending record needs (on <c>Eval()</c>); pending records stay, and the scratch with them
    /// while any waits: PyTorch allows <c>eval()</c> between a forward and its backward.
    /// </summary>
    public void Release()
    {
        _idle.Clear();
        _idleFloats = 0;
        if (Count == 0)
        {
            Scratch.Clear();
        }
    }

    [DoesNotReturn]
    private void ThrowNoRecord(string module)
    {
        string dropped = _dropped == 0 ? "" : $" ({_dropped} older record(s) were dropped: the forwards waiting for Backward held more than {BudgetFloats * sizeof(float) >> 20} MiB or numbered more than {MaxPending})";
        throw new InvalidOperationException(
            $"{module}.Backward needs a Forward run in training mode first (call Train(), then Forward with the tensor API); each Forward is backpropagated once, the newest first{dropped}.");
    }
}
