using System.Numerics.Tensors;
using Recurrent.Kernels;

namespace Recurrent;

/// <summary>
/// A multi-layer gated recurrent unit RNN, <c>torch.nn.GRU</c>. For each step (gate order r, z, n):
/// <c>r = σ(W_ir x + b_ir + W_hr h + b_hr)</c>, <c>z = σ(W_iz x + b_iz + W_hz h + b_hz)</c>,
/// <c>n = tanh(W_in x + b_in + r*(W_hn h + b_hn))</c>, <c>h' = (1 - z)*n + z*h</c>.
/// </summary>
public sealed class Gru : RnnBase
{
    /// <summary>Creates the layers with PyTorch's parameters and initial distribution.</summary>
    /// <param name="inputSize">Features of the input x.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to use <c>b_ih</c> and <c>b_hh</c>.</param>
    /// <param name="batchFirst">Whether batched input and output are <c>(N, L, H)</c>.</param>
    /// <param name="dropout">Dropout on each layer's output but the last, in training mode.</param>
    /// <param name="bidirectional">Whether to add a reverse direction.</param>
    /// <param name="seed">Seed for the initial weights and the dropout masks; <see langword="null"/> for a random one.</param>
    /// <exception cref="System.ArgumentException">A size or <paramref name="dropout"/> is out of range.</exception>
    public Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f, bool bidirectional = false, int? seed = null)
        : base(CellKind.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, 0, seed)
    {
    }

    /// <inheritdoc/>
    protected override string TorchName => "GRU";

    /// <summary>Runs the sequence through every layer.</summary>
    /// <param name="input"><c>(L, N, H_in)</c>, <c>(N, L, H_in)</c> when batch-first, or <c>(L, H_in)</c> unbatched.</param>
    /// <param name="h0"><c>(D*num_layers, N, H_out)</c> (or 2-D for unbatched input); zeros when null.</param>
    /// <exception cref="System.ArgumentException">A shape does not fit the module, in PyTorch's words.</exception>
    public RnnOutput Forward(Tensor<float> input, Tensor<float>? h0 = null)
    {
        (Tensor<float> output, Tensor<float> hN, _) = ForwardCore(input, h0, null);
        return new RnnOutput(output, hN);
    }
}
