using System;
using System.Threading;

namespace Recurrent.Engine;

/// <summary>
/// A sense-reversing spin barrier for the steps of one direction (microseconds apart: never blocks). When a participant
/// fails, <see cref="Break"/> releases the others: every wait on a broken barrier throws <see cref="BarrierBrokenException"/>
/// (so no worker is left spinning for a partner that will never come), and its owner makes a new one for the next call.
/// </summary>
internal sealed class SpinBarrier
{
    private readonly int _participants;
    private int _count;
    private int _generation;
    private volatile bool _broken;

    /// <summary>A barrier for a job that runs on one thread: never waits, never breaks.</summary>
    public static readonly SpinBarrier Alone = new(1);

    public SpinBarrier(int participants)
    {
        _participants = participants;
        _count = participants;
    }

    /// <summary>Whether a participant failed while this barrier was in use.</summary>
    public bool IsBroken => _broken;

    /// <summary>Releases every participant waiting now or later, with <see cref="BarrierBrokenException"/>.</summary>
    public void Break()
    {
        if (_participants > 1)
        {
            _broken = true;
        }
    }

    public void SignalAndWait()
    {
        if (_participants == 1)
        {
            return;
        }

        if (_broken)
        {
            throw new BarrierBrokenException();
        }

        int generation = Volatile.Read(ref _generation);
        if (Interlocked.Decrement(ref _count) == 0)
        {
            Volatile.Write(ref _count, _participants);
            Interlocked.Increment(ref _generation);
            return;
        }

        var spin = default(SpinWait);
        while (Volatile.Read(ref _generation) == generation)
        {
            if (_broken)
            {
                throw new BarrierBrokenException();
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}

/// <summary>Thrown to the participants of a barrier another participant broke by failing; the pool reports that failure instead.</summary>
internal sealed class BarrierBrokenException() : Exception("a worker of the same job failed; this one stopped at its barrier");
