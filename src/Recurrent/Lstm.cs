using System.Numerics.Tensors;
using Recurrent.Kernels;

namespace Recurrent;

/// <summary>
/// A multi-layer long short-term memory RNN, <c>torch.nn.LSTM</c>. For each step:
/// <c>i,f,g,o = σ,σ,tanh,σ(W_ih x + b_ih + W_hh h + b_hh)</c> (gate order i, f, g, o), <c>c' = f*c + i*g</c>,
/// <c>h' = o*tanh(c')</c>, and with <c>projSize</c> &gt; 0, <c>h' = W_hr h'</c>.
/// </summary>
public sealed class Lstm : RnnBase
{
    /// <summary>Creates the layers with PyTorch's parameters and initial distribution.</summary>
    /// <param name="inputSize">Features of the input x.</param>
    /// <param name="hiddenSize">Features of the hidden and cell state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to use <c>b_ih</c> and <c>b_hh</c>.</param>
    /// <param name="batchFirst">Whether batched input and output are <c>(N, L, H)</c>.</param>
    /// <param name="dropout">Dropout on each layer's output but the last, in training mode.</param>
    /// <param name="bidirectional">Whether to add a reverse direction.</param>
    /// <param name="projSize">If &gt; 0, h is projected to this size by <c>weight_hr</c>.</param>
    /// <param name="seed">Seed for the initial weights and the dropout masks; <see langword="null"/> for a random one.</param>
    /// <exception cref="System.ArgumentException">A size, <paramref name="dropout"/> or <paramref name="projSize"/> is out of range.</exception>
    public Lstm(
        int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f, bool bidirectional = false, int projSize = 0, int? seed = null)
        : base(CellKind.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, projSize, seed)
    {
    }

    /// <summary>The projection size (<c>proj_size</c>), 0 when there is none.</summary>
    public int ProjSize => Spec.ProjSize;

    /// <inheritdoc/>
    protected override string TorchName => "LSTM";

    /// <summary>Runs the sequence through every layer.</summary>
    /// <param name="input"><c>(L, N, H_in)</c>, <c>(N, L, H_in)</c> when batch-first, or <c>(L, H_in)</c> unbatched.</param>
    /// <param name="h0"><c>(D*num_layers, N, H_out)</c> (or 2-D for unbatched input); zeros when null.</param>
    /// <param name="c0"><c>(D*num_layers, N, hidden_size)</c> (or 2-D); zeros when null.</param>
    /// <exception cref="System.ArgumentException">A shape does not fit the module, in PyTorch's words.</exception>
    public LstmOutput Forward(Tensor<float> input, Tensor<float>? h0 = null, Tensor<float>? c0 = null)
    {
        (Tensor<float> output, Tensor<float> hN, Tensor<float>? cN) = ForwardCore(input, h0, c0);
        return new LstmOutput(output, hN, cN!);
    }
}
