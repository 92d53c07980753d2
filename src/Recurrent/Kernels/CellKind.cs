namespace Recurrent.Kernels;

/// <summary>The only thing that differs between the three recurrent layers inside the layer driver.</summary>
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
        CellKind.Lstm => 4,
        CellKind.Gru => 3,
        _ => 1,
    };
}
