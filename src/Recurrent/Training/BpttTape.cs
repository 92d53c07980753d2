using System;
using System.Numerics.Tensors;
using Recurrent.Engine;

namespace Recurrent.Training;

/// <summary>A training forward's record: every layer's input (after dropout) and output, the dropout masks and each direction's tape.</summary>
internal sealed class BpttTape
{
    public int SeqLen;
    public int Batch;

    /// <summary>Rows active at each step (the batch, or a packed sequence's batch sizes) and where each step's rows begin.</summary>
    public int[] StepRows = [], StepOffsets = [];

    public int TotalRows => StepOffsets.Length == 0 ? 0 : StepOffsets[^1] + StepRows[^1];

    /// <summary>
    /// The row layout of every array of the record: the caller's own (time-major <c>(T, N, ·)</c>, packed rows, or
    /// batch-first <c>(N, T, ·)</c>, read by strides as inference reads it).
    /// </summary>
    public bool TimeMajor = true;

    /// <summary>Rows between sequence b and b + 1 at one step: 1 time-major, T batch-first.</summary>
    public int RowStride => TimeMajor ? 1 : SeqLen;

    /// <summary>The row of sequence b at step t.</summary>
    public int Row(int t, int b) => TimeMajor ? StepOffsets[t] + b : (b * SeqLen) + t;

    /// <summary>
    /// The rows of sequences [<paramref name="b0"/>, b0 + <paramref name="count"/>) at step <paramref name="t"/> of a
    /// <paramref name="width"/>-wide array in the record's layout, <see cref="RowStride"/> rows apart.
    /// </summary>
    public ReadOnlySpan<float> RowsAt(float[] array, int t, int b0, int count, int width) =>
        count == 0 ? default : array.AsSpan(Row(t, b0) * width, (((count - 1) * RowStride) + 1) * width);

    /// <summary>Whether sequence b starts at step t from its initial state: step 0 going forward; going backward, its own last step.</summary>
    public bool StartsAt(int t, int b, int direction) => direction == 0 ? t == 0 : t + 1 >= SeqLen || b >= StepRows[t + 1];

    /// <summary>Per layer: its input in the record's layout (layer 0: a copy of the caller's input; then the previous output after dropout).</summary>
    public float[][] LayerInputs = [];

    /// <summary>Per layer: its output <c>(rows, D·H_out)</c> before dropout.</summary>
    public float[][] LayerOutputs = [];

    /// <summary>Per layer: the dropout scale of each element of that layer's input (0 or 1/(1-p)), or null.</summary>
    public float[]?[] Masks = [];
    public DirectionTape[] Directions = [];

    private PackedLayer[] _packed = [];
    private TrainingScratch _scratch = new();
    private bool _unpacked;

    /// <summary>
    /// A tape whose arrays come from <paramref name="memory"/> (this record's own, reused by a later record once consumed)
    /// and whose first layer reads a copy of <paramref name="input"/> kept there, in the call's layout (the caller may reuse
    /// its buffer before Backward); the forward runs on <see cref="LayerInputs"/>[0].
    /// </summary>
    public static BpttTape For(ReadOnlySpan<float> input, TrainingScratch memory)
    {
        float[] copy = memory.Get(TrainingArray.TapeInput, 0, input.Length, clear: false);
        input.CopyTo(copy);
        return new() { LayerInputs = [copy], _scratch = memory };
    }

    /// <summary>The record of a call with no sequences (batch 0): nothing to backpropagate.</summary>
    public static BpttTape Empty(int seqLen) => new() { SeqLen = seqLen };

    /// <summary>The forward's packing of (layer, direction) <paramref name="index"/>: a new object whenever the weights change.</summary>
    public PackedLayer Layer(int index) => _packed[index];

    /// <summary>Sizes the record for one driver call (called by <see cref="LayerDriver.Forward"/>; h0 already in sorted order).</summary>
    public void Begin(in RecurrentSpec spec, PackedLayer[] layers, in LayerCall call, int rows, RecurrentWorkspace ws, ReadOnlySpan<float> h0)
    {
        int d = spec.NumDirections, hOut = spec.OutputSize, hidden = spec.HiddenSize;
        int seqLen = call.SeqLen, batch = call.Batch;
        ReadOnlySpan<float> c0 = call.C0;
        ReadOnlySpan<int> sortedIndices = call.SortedIndices;
        TimeMajor = call.TimeMajor;
        SeqLen = seqLen;
        Batch = batch;
        StepRows = ws.StepRows.AsSpan(0, seqLen).ToArray();
        StepOffsets = ws.StepOffsets.AsSpan(0, seqLen).ToArray();
        _packed = layers;
        float[] input = LayerInputs[0];
        LayerInputs = new float[spec.NumLayers][];
        LayerInputs[0] = input;
        LayerOutputs = new float[spec.NumLayers][];
        Masks = new float[spec.NumLayers][];
        Directions = new DirectionTape[spec.NumLayers * d];
        for (int layer = 0; layer < spec.NumLayers; layer++)
        {
            LayerOutputs[layer] = _scratch.Get(TrainingArray.TapeOutput, layer, rows * d * hOut, clear: false);
            for (int direction = 0; direction < d; direction++)
            {
                int index = (layer * d) + direction;
                var dir = new DirectionTape
                {
                    Tape = this,
                    HiddenSize = hidden,
                    PackedGates = _scratch.Get(TrainingArray.TapePackedGates, index, rows * layers[index].PackedGateSize, clear: false),
                    Hidden = LayerOutputs[layer],
                    HiddenStride = d * hOut,
                    HiddenOffset = direction * hOut,
                    Cells = spec.Cell.HasCellState ? _scratch.Get(TrainingArray.TapeCells, index, rows * hidden, clear: false) : [],
                    HiddenNew = spec.Cell.KeepsHiddenGate ? _scratch.Get(TrainingArray.TapeHiddenNew, index, rows * hidden, clear: false) : [],
                    HiddenFull = spec.ProjSize > 0 ? _scratch.Get(TrainingArray.TapeHiddenFull, index, rows * hidden, clear: false) : [],
                    H0 = _scratch.Get(TrainingArray.TapeH0, index, batch * hOut, clear: h0.IsEmpty),
                    C0 = !spec.Cell.HasCellState ? [] : _scratch.Get(TrainingArray.TapeC0, index, batch * hidden, clear: c0.IsEmpty),
                };
                if (!h0.IsEmpty)
                {
                    h0.Slice(index * batch * hOut, batch * hOut).CopyTo(dir.H0);
                }

                if (!c0.IsEmpty && spec.Cell.HasCellState)
                {
                    for (int b = 0; b < batch; b++)
                    {
                        int from = sortedIndices.IsEmpty ? b : sortedIndices[b];
                        c0.Slice(((index * batch) + from) * hidden, hidden).CopyTo(dir.C0.AsSpan(b * hidden, hidden));
                    }
                }

                Directions[index] = dir;
            }
        }
    }

    /// <summary>The input of layer <paramref name="layer"/>: the previous layer's output, through a recorded dropout mask when one applies.</summary>
    public void Dropout(int layer, float p, Random? random)
    {
        float[] previous = LayerOutputs[layer - 1];
        if (random is null || p <= 0f)
        {
            LayerInputs[layer] = previous;
            return;
        }

        float[] mask = _scratch.Get(TrainingArray.TapeMask, layer, previous.Length, clear: false);
        mask.AsSpan().Fill(1f);
        Kernels.Dropout.Apply(mask, p, random);
        float[] dropped = _scratch.Get(TrainingArray.TapeDropped, layer, previous.Length, clear: false);
        TensorPrimitives.Multiply(previous, mask, dropped);
        Masks[layer] = mask;
        LayerInputs[layer] = dropped;
    }

    /// <summary>Puts every direction's recorded gates into PyTorch's column order (<see cref="DirectionTape.Gates"/>).</summary>
    public void Unpack()
    {
        if (_unpacked)
        {
            return;
        }

        _unpacked = true;
        int rows = TotalRows;
        for (int index = 0; index < Directions.Length; index++)
        {
            DirectionTape dir = Directions[index];

            PackedLayer w = _packed[index];
            int h = w.Hidden, g = w.Gates, u = w.Unit, gp = w.PackedGateSize;
            float[] plain = _scratch.Get(TrainingArray.TapeGates, index, rows * g * h, clear: false);
            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<float> packedRow = dir.PackedGates.AsSpan(r * gp, gp);
                Span<float> plainRow = plain.AsSpan(r * g * h, g * h);
                for (int p = 0; p < w.Panels; p++)
                {
                    int valid = Math.Min(u, h - (p * u));
                    for (int gate = 0; gate < g; gate++)
                    {
                        packedRow.Slice((p * w.PanelWidth) + (gate * u), valid).CopyTo(plainRow.Slice((gate * h) + (p * u), valid));
                    }
                }
            }

            dir.Gates = plain;
        }
    }
}
