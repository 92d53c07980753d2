using System.Collections.Concurrent;

namespace Recurrent.Internals;

/// <summary>
/// Workspaces for the tensor overloads: a call rents one and gives it back, so repeated calls reuse memory and
/// concurrent calls on one module each get their own.
/// </summary>
internal sealed class WorkspacePool
{
    private readonly ConcurrentBag<RecurrentWorkspace> _free = [];

    public RecurrentWorkspace Rent() => _free.TryTake(out RecurrentWorkspace? ws) ? ws : new RecurrentWorkspace();

    public void Return(RecurrentWorkspace workspace) => _free.Add(workspace);
}
