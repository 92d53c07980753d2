using System.Diagnostics.Tracing;

namespace Recurrent.Engine;

/// <summary>
/// The library's diagnostics, for <c>dotnet-trace</c> / <c>dotnet-counters</c> or an <see cref="EventListener"/> (source
/// "Recurrent"): an event each time a job runs on more than one thread of the worker pool. Nothing is written while no
/// listener is enabled.
/// </summary>
[EventSource(Name = "Recurrent")]
internal sealed class RecurrentEventSource : EventSource
{
    public static readonly RecurrentEventSource Log = new();

    private RecurrentEventSource()
    {
    }

    /// <summary>A job (a layer pass, a backward time loop or a large product) ran on <paramref name="workers"/> threads.</summary>
    [Event(1, Level = EventLevel.Verbose)]
    public void ParallelRun(int workers)
    {
        if (IsEnabled())
        {
            WriteEvent(1, workers);
        }
    }
}
