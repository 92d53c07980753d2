namespace Recurrent;

/// <summary>The activation of an Elman <see cref="Rnn"/> or <see cref="RnnCell"/>: PyTorch's <c>nonlinearity='tanh'|'relu'</c>.</summary>
public enum Nonlinearity
{
    /// <summary><c>h' = tanh(W_ih x + b_ih + W_hh h + b_hh)</c>.</summary>
    Tanh,

    /// <summary><c>h' = relu(W_ih x + b_ih + W_hh h + b_hh)</c>.</summary>
    Relu,
}
