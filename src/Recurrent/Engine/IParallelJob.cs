namespace Recurrent.Engine;

/// <summary>A unit of parallel work: <see cref="Execute"/> runs once on each of <c>workers</c> threads, worker 0 being the caller.</summary>
internal interface IParallelJob
{
    public void Execute(int worker, int workers);

    /// <summary>
    /// Called once when a worker failed: releases the others from the job's barriers (<see cref="SpinBarrier.Break"/>) so
    /// that every worker returns and the pool can report the failure. A job without barriers has nothing to do.
    /// </summary>
    public void Abort()
    {
    }
}
