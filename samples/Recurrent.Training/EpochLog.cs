using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace Recurrent.Training;

/// <summary>
/// Mean loss and time per epoch, printed as each epoch ends with a bar of the run's progress
/// (<c>epoch  3/10 [######              ] loss 0.0177  (0.08 s)</c>); remembers every epoch's mean.
/// </summary>
internal sealed class EpochLog(TextWriter log, int epochs)
{
    private const int BarWidth = 20;

    private readonly Stopwatch _clock = new();
    private readonly List<float> _losses = [];
    private double _total;
    private int _batches;

    public float First => _losses[0];

    public float Last => _losses[^1];

    /// <summary>The mean loss of each epoch ended so far.</summary>
    public float[] Losses => [.. _losses];

    public void Start()
    {
        _clock.Restart();
        (_total, _batches) = (0, 0);
    }

    public void Add(float loss)
    {
        _total += loss;
        _batches++;
    }

    public void End(int epoch)
    {
        _losses.Add((float)(_total / _batches));
        int done = epochs <= 0 ? BarWidth : Math.Min(BarWidth, epoch * BarWidth / epochs);
        log.WriteLine($"epoch {epoch,3}/{epochs} [{new string('#', done)}{new string(' ', BarWidth - done)}] loss {Last:F4}  ({_clock.Elapsed.TotalSeconds:F2} s)");
    }
}
