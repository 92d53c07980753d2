
namespace Recurrent.Kernels.Cells;

/// <summary>Which cell a module runs: the tag the engine turns into the cell's type (<see cref="Cells.ICell"/>) once per call.</summary>
internal enum CellKind
{
    RnnTanh,
    RnnRelu,
    Lstm,
    Gru,
}

internal static class CellKindExtensions
{
    /// <summary>Gate blocks stacked in the weight rows: 4 (i, f, g, o), 3 (r, z, n) or 1.</summary>
    public static int GateCount(this CellKind kind) => kind switch
    {
        CellKind.Lstm => LstmGates.Gates,
        CellKind.Gru => GruGates.Gates,
        CellKind.RnnTanh => TanhGates.Gates,
        _ => ReluGates.Gates,
    };
}
