namespace Recurrent.Engine;

/// <summary>What one layer pass reads and writes, pinned by <see cref="LayerDriver"/>: the call's geometry and the memory of this layer.</summary>
internal unsafe struct LayerRun
{
    /// <summary>Steps, batch (the widest step), rows in all (T·N, or the packed rows), and the row layout.</summary>
    public int SeqLen, Batch, Rows;
    public bool TimeMajor;

    /// <summary>This layer's input and output rows; h0, c0 (null for zeros); h_n, c_n; the sorted order of a packed batch (null: identity).</summary>
    public float* Input, Output, H0, C0, HN, CN;
    public int* Perm;
}
