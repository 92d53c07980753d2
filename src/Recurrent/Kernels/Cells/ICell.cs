namespace Recurrent.Kernels.Cells;

/// <summary>
/// What the engine needs to know about one recurrent cell, as a type (the operator-struct pattern: the JIT specialises
/// every loop per cell and per vector width, so no branch on the cell is left inside a loop). The forward body runs on a
/// tile of <see cref="FusedGates"/>, the backward body on a row of <see cref="GateGradients"/>; each comes as a vector
/// body over one vector of units and a scalar body over one unit, which is also the scalar reference. A new variant is one
/// file implementing this interface plus its <see cref="CellKind"/>.
/// </summary>
internal interface ICell
{
    /// <summary>Gate blocks stacked in the weight rows: 4 (LSTM i, f, g, o), 3 (GRU r, z, n) or 1 (RNN).</summary>
    public static abstract int Gates { get; }

    /// <summary>Hidden units per packed panel: every panel is gates × unit ≥ 64 floats wide, enough for the wide register blocks.</summary>
    public static abstract int Unit { get; }

    /// <summary>Whether the cell carries a cell state c beside h (c0, c_n, dL/dc), which its forward updates in place.</summary>
    public static abstract bool HasCellState { get; }

    /// <summary>
    /// Whether the hidden side of the last gate stays apart from the input side (GRU's linear-before-reset n: <c>b_hn</c> is
    /// not folded into the input bias, the forward records <c>W_hn h + b_hn</c>, and the backward's hidden-side gate
    /// gradients differ from the input side's).
    /// </summary>
    public static abstract bool KeepsHiddenGate { get; }

    /// <summary>The forward's pointwise step for units [u, u + width) of one row; <paramref name="unit"/> is the gate stride in the tile.</summary>
    public static abstract void Forward<TS, TV>(in GateRow row, nuint u, nuint unit, bool record)
        where TS : struct, ISimd<TV>
        where TV : struct;

    /// <summary>The forward's pointwise step for unit <paramref name="j"/> of one row.</summary>
    public static abstract void Forward(in GateRow row, int j, int unit, bool record);

    /// <summary>The backward's pointwise step for units [u, u + width) of one row; <paramref name="hidden"/> is the gate stride.</summary>
    public static abstract void Backward<TS, TV>(in GradientRow row, nuint u, nuint hidden)
        where TS : struct, ISimd<TV>
        where TV : struct;

    /// <summary>The backward's pointwise step for unit <paramref name="j"/> of one row.</summary>
    public static abstract void Backward(in GradientRow row, int j, int hidden);
}

/// <summary>
/// One row of a forward tile, each reference at unit 0 of its buffer: <see cref="Tile"/> holds <c>h·W_hhᵀ</c> (gate blocks
/// <c>unit</c> apart), <see cref="Input"/> the input projection with the pre-summed biases in the same order (the activated
/// gates when recording), <see cref="BiasHN"/> GRU's <c>b_hn</c>, <see cref="Cell"/> LSTM's c (updated in place),
/// <see cref="HPrev"/> h_{t-1} and <see cref="H"/> where h_t goes.
/// </summary>
internal readonly ref struct GateRow
{
    public readonly ref float Tile;
    public readonly ref float Input;
    public readonly ref float BiasHN;
    public readonly ref float Cell;
    public readonly ref float HPrev;
    public readonly ref float H;

    public GateRow(ref float tile, ref float input, ref float biasHN, ref float cell, ref float hPrev, ref float h)
    {
        Tile = ref tile;
        Input = ref input;
        BiasHN = ref biasHN;
        Cell = ref cell;
        HPrev = ref hPrev;
        H = ref h;
    }
}

/// <summary>
/// One row of a backward step, each reference at unit 0: <see cref="Gates"/> the recorded activated gates (gate blocks H
/// apart, PyTorch's order), <see cref="Dh"/> dL/dh_t, <see cref="Aux"/> what the cell recorded beside the gates (LSTM c_t,
/// GRU <c>W_hn h + b_hn</c>), <see cref="Prev"/> the previous state it needs (LSTM c_{t-1}, GRU h_{t-1}), <see cref="Dc"/>
/// LSTM's dL/dc (replaced by dL/dc_{t-1}) or GRU's direct part of dL/dh_{t-1}, <see cref="DGi"/> and <see cref="DGh"/> the
/// input- and hidden-side gate gradients (the same for every cell but the GRU).
/// </summary>
internal readonly ref struct GradientRow
{
    public readonly ref float Gates;
    public readonly ref float Dh;
    public readonly ref float Aux;
    public readonly ref float Prev;
    public readonly ref float Dc;
    public readonly ref float DGi;
    public readonly ref float DGh;

    public GradientRow(ref float gates, ref float dh, ref float aux, ref float prev, ref float dc, ref float dGi, ref float dGh)
    {
        Gates = ref gates;
        Dh = ref dh;
        Aux = ref aux;
        Prev = ref prev;
        Dc = ref dc;
        DGi = ref dGi;
        DGh = ref dGh;
    }
}
