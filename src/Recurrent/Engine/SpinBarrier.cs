using System.Threading;

namespace Recurrent.Engine;

/// <summary>A sense-reversing spin barrier for the steps of one direction (microseconds apart: never blocks).</summary>
internal sealed class SpinBarrier
{
    private readonly int _participants;
    private int _count;
    private int _generation;

    /// <summary>A barrier for a job that runs on one thread: never waits.</summary>
    public static readonly SpinBarrier Alone = new(1);

    public SpinBarrier(int participants)
    {
        _participants = participants;
        _count = participants;
    }

    public void SignalAndWait()
    {
        if (_participants == 1)
        {
            return;
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
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}
