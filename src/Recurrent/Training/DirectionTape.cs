using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Engine;
using Recurrent.Kernels;

namespace Recurrent.Training;

/// <summary>What one (layer, direction) of a training forward keeps for its backward pass, indexed by time-major row.</summary>
internal sealed class DirectionTape
{
    /// <summary>
    /// The layer driver's gate buffer <c>(rows, packed gates)</c>: the input projection, activated in place by the gate pass
    /// (<see cref="FusedGates"/> with record), in <see cref="PackedLayer"/>'s column order; <see cref="BpttTape.Unpack"/>
    /// turns it into <see cref="Gates"/>.
    /// </summary>
    public float[] PackedGates = [];

    /// <summary><c>(rows, gates·H)</c> after the activations, PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n; RNN h.</summary>
    public float[] Gates = [];

    /// <summary>LSTM: c_t, <c>(rows, H)</c>.</summary>
    public float[] Cells = [];

    /// <summary>LSTM with proj_size: the unprojected h_t, <c>(rows, H)</c>.</summary>
    public float[] HiddenFull = [];

    /// <summary>GRU: <c>W_hn h_{t-1} + b_hn</c>, <c>(rows, H)</c>.</summary>
    public float[] HiddenNew = [];

    /// <summary>h_t: row r at <c>r·HiddenStride + HiddenOffset</c> (the layer's output, this direction's half).</summary>
    public float[] Hidden = [];

    public int HiddenStride;

    public int HiddenOffset;

    /// <summary>h0 and c0 of this layer and direction, <c>(N, H_out)</c> and <c>(N, H)</c>, rows in the tape's (sorted) order.</summary>
    public float[] H0 = [], C0 = [];

    public int HiddenSize;

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
