using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;
using Recurrent.Kernels;

namespace Recurrent;

/// <summary>A multi-layer Elman RNN, <c>torch.nn.RNN</c>: <c>h' = act(W_ih x + b_ih + W_hh h + b_hh)</c>, act = tanh or relu.</summary>
public sealed class Rnn : RnnBase
{
    /// <summary>Creates the layers with PyTorch's parameters and initial distribution.</summary>
    /// <param name="inputSize">Features of the input x.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="nonlinearity">tanh or relu.</param>
    /// <param name="bias">Whether to use <c>b_ih</c> and <c>b_hh</c>.</param>
    /// <param name="batchFirst">Whether batched input and output are <c>(N, L, H)</c>.</param>
    /// <param name="dropout">Dropout on each layer's output but the last, in training mode.</param>
    /// <param name="bidirectional">Whether to add a reverse direction.</param>
    /// <param name="seed">Seed for the initial weights and the dropout masks; <see langword="null"/> for a random one.</param>
    /// <exception cref="System.ArgumentException">A size, <paramref name="dropout"/> or <paramref name="nonlinearity"/> is out of range.</exception>
    public Rnn(
        int inputSize, int hiddenSize, int numLayers = 1, Nonlinearity nonlinearity = Nonlinearity.Tanh, bool bias = true, bool batchFirst = false, float dropout = 0f, bool bidirectional = false, int? seed = null)
        : base(ToKind(nonlinearity), inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, 0, seed)
    {
        Nonlinearity = nonlinearity;
    }

    /// <summary>The activation, tanh or relu.</summary>
    public Nonlinearity Nonlinearity { get; }

    /// <inheritdoc/>
    protected override string TorchName => "RNN";

    /// <summary>Runs the sequence through every layer.</summary>
    /// <param name="input"><c>(L, N, H_in)</c>, <c>(N, L, H_in)</c> when batch-first, or <c>(L, H_in)</c> unbatched.</param>
    /// <param name="h0"><c>(D*num_layers, N, H_out)</c> (or 2-D for unbatched input); zeros when null.</param>
    /// <exception cref="System.ArgumentException">A shape does not fit the module, in PyTorch's words.</exception>
    public RnnOutput Forward(Tensor<float> input, Tensor<float>? h0 = null)
    {
        (Tensor<float> output, Tensor<float> hN, _) = ForwardCore(input, h0, null);
        return new RnnOutput(output, hN);
    }

    internal static CellKind ToKind(Nonlinearity nonlinearity) => nonlinearity switch
    {
        Nonlinearity.Tanh => CellKind.RnnTanh,
        Nonlinearity.Relu => CellKind.RnnRelu,
        _ => UnknownNonlinearity(nonlinearity),
    };

    private static CellKind UnknownNonlinearity(Nonlinearity nonlinearity)
    {
        ThrowHelper.OutOfRange(
            nameof(nonlinearity),
            nonlinearity,
            string.Create(CultureInfo.InvariantCulture, $"Unknown nonlinearity '{(int)nonlinearity}'. Select from 'tanh' or 'relu'."));
        return default;
    }
}
