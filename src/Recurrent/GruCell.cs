using System;
using System.Numerics.Tensors;
using Recurrent.Kernels.Cells;

namespace Recurrent;

/// <summary>One GRU step, <c>torch.nn.GRUCell</c>: <c>r, z, n</c> gates, <c>n = tanh(W_in x + b_in + r*(W_hn h + b_hn))</c>, <c>h' = (1-z)*n + z*h</c>.</summary>
public sealed class GruCell : RnnCellBase
{
    /// <summary>Creates the cell with PyTorch's parameters and initial distribution.</summary>
    /// <param name="inputSize">Features of the input x.</param>
    /// <param name="hiddenSize">Features of h.</param>
    /// <param name="bias">Whether to use <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="seed">Seed for the initial weights; <see langword="null"/> for a random one.</param>
    public GruCell(int inputSize, int hiddenSize, bool bias = true, int? seed = null)
        : base(CellKind.Gru, inputSize, hiddenSize, bias, seed)
    {
    }

    /// <summary>
    /// An inference-only copy of this cell with its current weights stored in <paramref name="precision"/>: the same Forward
    /// overloads, shapes and errors; no parameters; it refuses Backward (see <see cref="Lstm.Quantize"/>).
    /// </summary>
    /// <exception cref="System.ArgumentException"><paramref name="precision"/> is <see cref="WeightPrecision.Float32"/>.</exception>
    /// <exception cref="System.InvalidOperationException">This cell is itself a quantized copy.</exception>
    public GruCell Quantize(WeightPrecision precision) => new(this, precision);

    private GruCell(GruCell source, WeightPrecision precision)
        : base(source, precision)
    {
    }

    /// <inheritdoc/>
    protected override string TorchName => "GRUCell";

    /// <summary>Advances the state by one step.</summary>
    /// <param name="input"><c>(N, input_size)</c> or <c>(input_size)</c>.</param>
    /// <param name="h"><c>(N, hidden_size)</c> or <c>(hidden_size)</c>; zeros when null.</param>
    /// <returns>h', shaped like <paramref name="h"/>.</returns>
    /// <exception cref="System.ArgumentException">A shape does not fit the cell, in PyTorch's words.</exception>
    public Tensor<float> Forward(Tensor<float> input, Tensor<float>? h = null) => ForwardCore(input, h, null).H;

    /// <summary>
    /// The allocation-free step for streaming: <paramref name="hNew"/> may be the same memory as <paramref name="h"/>,
    /// so a loop advances its state in place without allocating.
    /// </summary>
    /// <param name="input"><c>(N, input_size)</c>, row-major.</param>
    /// <param name="batch">N.</param>
    /// <param name="h"><c>(N, hidden_size)</c>, or empty for zeros.</param>
    /// <param name="hNew">Receives h'.</param>
    /// <param name="workspace">Scratch memory to reuse; <see langword="null"/> uses the module's pool.</param>
    /// <exception cref="ArgumentException">A length does not match <paramref name="batch"/> and the cell's sizes.</exception>
    public void Forward(ReadOnlySpan<float> input, int batch, ReadOnlySpan<float> h, Span<float> hNew, RecurrentWorkspace? workspace = null) =>
        ForwardCore(input, batch, h, default, hNew, default, workspace);

    /// <summary>Backpropagation for the last training-mode tensor <c>Forward</c>: accumulates the parameters' Grad and returns dL/d(input) and dL/dh.</summary>
    /// <param name="gradH">dL/dh', the shape of the returned h'.</param>
    /// <exception cref="System.InvalidOperationException">No training-mode forward was recorded.</exception>
    public CellGradients Backward(Tensor<float> gradH) => BackwardCore(gradH, null);
}
