using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>One Elman RNN step, <c>torch.nn.RNNCell</c>: <c>h' = act(W_ih x + b_ih + W_hh h + b_hh)</c>.</summary>
public sealed class RnnCell : RnnCellBase
{
    /// <summary>Creates the cell with PyTorch's parameters and initial distribution.</summary>
    /// <param name="inputSize">Features of the input x.</param>
    /// <param name="hiddenSize">Features of h.</param>
    /// <param name="bias">Whether to use <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="nonlinearity">tanh or relu.</param>
    /// <param name="seed">Seed for the initial weights; <see langword="null"/> for a random one.</param>
    /// <exception cref="System.ArgumentException"><paramref name="nonlinearity"/> is not a defined value.</exception>
    public RnnCell(int inputSize, int hiddenSize, bool bias = true, Nonlinearity nonlinearity = Nonlinearity.Tanh, int? seed = null)
        : base(Rnn.ToKind(nonlinearity), inputSize, hiddenSize, bias, seed)
    {
        Nonlinearity = nonlinearity;
    }

    /// <summary>The activation, tanh or relu.</summary>
    public Nonlinearity Nonlinearity { get; }

    /// <inheritdoc/>
    protected override string TorchName => "RNNCell";

    /// <summary>Advances the state by one step.</summary>
    /// <param name="input"><c>(N, input_size)</c> or <c>(input_size)</c>.</param>
    /// <param name="h"><c>(N, hidden_size)</c> or <c>(hidden_size)</c>; zeros when null.</param>
    /// <returns>h', shaped like <paramref name="h"/>.</returns>
    /// <exception cref="System.ArgumentException">A shape does not fit the cell, in PyTorch's words.</exception>
    public Tensor<float> Forward(Tensor<float> input, Tensor<float>? h = null) => ForwardCore(input, h, null).H;
}
