using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Kernels;

namespace Recurrent.Training;

/// <summary>
/// What one (layer, direction) of a training forward keeps for its backward pass, indexed by the record's rows
/// (<see cref="BpttTape.Row"/>): <see cref="PackedGates"/>, the layer driver's gate buffer <c>(rows, packed gates)</c>,
/// holds the input projection activated in place by the gate pass (<see cref="FusedGates"/> with record) in
/// <see cref="PackedLayer"/>'s column order, which <see cref="BpttTape.Unpack"/> lays out as <see cref="Gates"/>
/// <c>(rows, gates·H)</c> in PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n; RNN h). Beside them, per row and
/// <c>(rows, H)</c>: LSTM's c_t (<see cref="Cells"/>), the unprojected h_t of an LSTM with proj_size
/// (<see cref="HiddenFull"/>) and GRU's <c>W_hn h_{t-1} + b_hn</c> (<see cref="HiddenNew"/>), each empty where the cell
/// has none. h_t itself is the layer's output (<see cref="Hidden"/>, row r at <c>r·HiddenStride + HiddenOffset</c>);
/// <see cref="H0"/> and <see cref="C0"/> are the direction's initial states <c>(N, H_out)</c> and <c>(N, H)</c>, rows in
/// the record's (sorted) order.
/// </summary>
internal sealed class DirectionTape
{
    public float[] PackedGates = [], Gates = [], Cells = [], HiddenFull = [], HiddenNew = [], Hidden = [], H0 = [], C0 = [];
    public int HiddenStride, HiddenOffset, HiddenSize;

    /// <summary>The record this direction belongs to (its row layout).</summary>
    public BpttTape Tape = null!;

    public ReadOnlySpan<float> HiddenRow(int row, int width) => Hidden.AsSpan((row * HiddenStride) + HiddenOffset, width);

    /// <summary>
    /// Called by the layer driver after the gate pass of one tile (step <paramref name="t"/>, sequences
    /// <paramref name="b0"/>.., units <paramref name="unit0"/>..): keeps what the running buffers will overwrite at the next
    /// step: c_t, a GRU's <c>W_hn h + b_hn</c> (left in the tile's n block) and the unprojected h_t.
    /// </summary>
    public void Keep(int t, int b0, int rows, int unit0, int valid, ref float cell, nint ldCell, ref float tile, int tileStride, int unit, ref float hiddenFull, nint ldFull)
    {
        int h = HiddenSize;
        for (int r = 0; r < rows; r++)
        {
            int at = (Tape.Row(t, b0 + r) * h) + unit0;
            if (Cells.Length > 0)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cell, (r * ldCell) + unit0), valid).CopyTo(Cells.AsSpan(at, valid));
            }

            if (HiddenNew.Length > 0)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref tile, (r * tileStride) + (2 * unit)), valid).CopyTo(HiddenNew.AsSpan(at, valid));
            }

            if (HiddenFull.Length > 0)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref hiddenFull, (r * ldFull) + unit0), valid).CopyTo(HiddenFull.AsSpan(at, valid));
            }
        }
    }
}
