namespace Recurrent.Kernels.Cells;

/// <summary>
/// Which cell a module runs: a tag that <see cref="CellKindExtensions.Dispatch"/> turns into the cell's type
/// (<see cref="ICell"/>) once per call. The one switch over the cells in the library is here.
/// </summary>
internal enum CellKind
{
    RnnTanh,
    RnnRelu,
    Lstm,
    Gru,
}

/// <summary>Work to run with a cell's type: the kernels specialised for it.</summary>
internal interface ICellAction
{
    public void Run<TCell>()
        where TCell : ICell;
}

/// <summary>What the engine asks of a cell outside its kernels, read off its type (<see cref="ICell"/>).</summary>
/// <param name="Gates">Gate blocks stacked in the weight rows.</param>
/// <param name="Unit">Hidden units per packed panel.</param>
/// <param name="HasCellState">Whether the cell carries c beside h (LSTM).</param>
/// <param name="KeepsHiddenGate">Whether the n gate's hidden side stays apart (GRU).</param>
internal readonly record struct CellTraits(int Gates, int Unit, bool HasCellState, bool KeepsHiddenGate)
{
    public static CellTraits Of<TCell>()
        where TCell : ICell => new(TCell.Gates, TCell.Unit, TCell.HasCellState, TCell.KeepsHiddenGate);
}

internal static class CellKindExtensions
{
    /// <summary>Runs <paramref name="action"/> with the type of <paramref name="kind"/>.</summary>
    public static void Dispatch<TAction>(this CellKind kind, ref TAction action)
        where TAction : ICellAction, allows ref struct
    {
        switch (kind)
        {
            case CellKind.Lstm:
                action.Run<LstmGates>();
                break;
            case CellKind.Gru:
                action.Run<GruGates>();
                break;
            case CellKind.RnnTanh:
                action.Run<TanhGates>();
                break;
            default:
                action.Run<ReluGates>();
                break;
        }
    }

    /// <summary>The cell's traits.</summary>
    public static CellTraits Traits(this CellKind kind)
    {
        var read = new ReadTraits();
        kind.Dispatch(ref read);
        return read.Traits;
    }

    /// <summary>Gate blocks stacked in the weight rows: 4 (i, f, g, o), 3 (r, z, n) or 1.</summary>
    public static int GateCount(this CellKind kind) => kind.Traits().Gates;

    private struct ReadTraits : ICellAction
    {
        public CellTraits Traits;

        public void Run<TCell>()
            where TCell : ICell => Traits = CellTraits.Of<TCell>();
    }
}
