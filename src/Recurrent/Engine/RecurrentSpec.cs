using System;
using System.Globalization;
using Recurrent.Internals;
using Recurrent.Kernels.Cells;

namespace Recurrent.Engine;

/// <summary>The static description of a stack of recurrent layers: everything the driver needs except the weights.</summary>
/// <param name="Kind">Which cell: the only difference between RNN, LSTM and GRU here.</param>
/// <param name="InputSize">Features of the first layer's input.</param>
/// <param name="HiddenSize">H: width of the cell state and of every gate block.</param>
/// <param name="ProjSize">P: LSTM projection width, 0 for none.</param>
/// <param name="NumLayers">Stacked layers.</param>
/// <param name="NumDirections">1, or 2 when bidirectional.</param>
internal readonly record struct RecurrentSpec(CellKind Kind, int InputSize, int HiddenSize, int ProjSize, int NumLayers, int NumDirections)
{
    /// <summary>H_out: the width of h and of each direction's output.</summary>
    public int OutputSize => ProjSize > 0 ? ProjSize : HiddenSize;

    /// <summary>What the engine asks of the cell (gates, panel unit, cell state, GRU's hidden-side n gate).</summary>
    public CellTraits Cell { get; } = Kind.Traits();

    /// <summary>Rows of W_ih and W_hh: gates × H.</summary>
    public int GateSize => Cell.Gates * HiddenSize;

    /// <summary>Features of layer <paramref name="layer"/>'s input.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : OutputSize * NumDirections;

    /// <summary>
    /// A spec whose derived sizes (gates × H rows, D × H_out features) fit an int, as the engine computes them; a hidden
    /// size too large for that is refused here, before any of it wraps around (the modules then check every weight's
    /// element count before allocating any, <see cref="Parameter.CheckSize"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="hiddenSize"/> makes gates × hidden_size or D × H_out exceed an array's length.</exception>
    public static RecurrentSpec Checked(CellKind kind, int inputSize, int hiddenSize, int projSize, int numLayers, int numDirections)
    {
        var spec = new RecurrentSpec(kind, inputSize, hiddenSize, projSize, numLayers, numDirections);
        long gateRows = (long)spec.Cell.Gates * hiddenSize, layerWidth = (long)numDirections * spec.OutputSize;
        if (gateRows > Array.MaxLength || layerWidth > Array.MaxLength)
        {
            ThrowHelper.OutOfRange(
                nameof(hiddenSize),
                hiddenSize,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"hidden_size {hiddenSize} gives weights of {gateRows} rows ({spec.Cell.Gates} gates), more than a .NET array holds ({Array.MaxLength})"));
        }

        return spec;
    }
}
