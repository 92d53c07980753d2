namespace Recurrent.Kernels;

/// <summary>What <see cref="DenseGemm.PanelBlocks"/> does with each row block of a panel once its K is complete (the forward: the gate math on the tile).</summary>
internal interface ITileEpilogue
{
    /// <summary>Rows [<paramref name="r0"/>, r0 + <paramref name="rows"/>) of the panel's product, at <paramref name="tile"/>.</summary>
    public void Block(int r0, int rows, ref float tile);
}
