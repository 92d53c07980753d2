namespace Recurrent.Engine;

/// <summary>A unit of parallel work: <see cref="Execute"/> runs once on each of <c>workers</c> threads, worker 0 being the caller.</summary>
internal interface IParallelJob
{
    public void Execute(int worker, int workers);
}
