using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;
using Recurrent.Kernels.Cells;

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

    /// <summary>
    /// An inference-only copy of this Rnn with its current weights stored in <paramref name="precision"/> (PyTorch's
    /// <c>quantize_dynamic</c>, as a .NET method): the same Forward overloads, shapes and errors, half the weight bytes for
    /// <see cref="WeightPrecision.BFloat16"/>, a quarter for <see cref="WeightPrecision.Int8"/> (whose steps also quantize
    /// their inputs and h per row). The copy has no parameters and keeps nothing of this module's weights; it refuses
    /// Backward.
    /// </summary>
    /// <exception cref="System.ArgumentException"><paramref name="precision"/> is <see cref="WeightPrecision.Float32"/>; for
    /// <see cref="WeightPrecision.Int8"/>, a weight is NaN or infinite, or an input or state is wider than int32 sums allow.</exception>
    /// <exception cref="System.InvalidOperationException">This module is itself a quantized copy.</exception>
    public Rnn Quantize(WeightPrecision precision) => new(this, precision);

    private Rnn(Rnn source, WeightPrecision precision)
        : base(source, precision)
    {
        Nonlinearity = source.Nonlinearity;
    }

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

    /// <summary>
    /// The allocation-free forward: reads <paramref name="input"/> laid out as <paramref name="shape"/> says and writes
    /// into the caller's memory. With a reused <paramref name="workspace"/> (or the module's pool) a call of a shape seen
    /// before allocates nothing. <paramref name="h0"/> and <paramref name="hN"/> may be the same memory, so a stream
    /// processed chunk by chunk carries its state in place and equals one whole call.
    /// </summary>
    /// <param name="input">Row-major input, <c>(L, N, H_in)</c>, <c>(N, L, H_in)</c> or <c>(L, H_in)</c> per <paramref name="shape"/>.</param>
    /// <param name="shape">The input's shape and layout.</param>
    /// <param name="h0"><c>(D*num_layers, N, H_out)</c>, or empty for zeros.</param>
    /// <param name="output">Receives <c>(L, N, D*H_out)</c> in the input's layout.</param>
    /// <param name="hN">Receives <c>(D*num_layers, N, H_out)</c>.</param>
    /// <param name="workspace">Scratch memory to reuse; <see langword="null"/> uses the module's pool.</param>
    /// <exception cref="System.ArgumentException">A length does not match <paramref name="shape"/>, or <paramref name="output"/> overlaps a source.</exception>
    public void Forward(ReadOnlySpan<float> input, SequenceShape shape, ReadOnlySpan<float> h0, Span<float> output, Span<float> hN, RecurrentWorkspace? workspace = null) =>
        ForwardCore(input, shape, h0, default, output, hN, default, workspace);

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

    /// <summary>
    /// Runs a packed batch of variable-length sequences: each sequence runs only its own length, the reverse direction
    /// starts at each sequence's own end, and h_n holds each sequence's state at its last step.
    /// </summary>
    /// <param name="input">From <see cref="RnnUtils.PackPaddedSequence"/> or <see cref="RnnUtils.PackSequence"/>; data <c>(sum(lengths), H_in)</c>.</param>
    /// <param name="h0"><c>(D*num_layers, N, H_out)</c> in the caller's batch order; zeros when null.</param>
    /// <exception cref="System.ArgumentException">A shape does not fit the module, in PyTorch's words.</exception>
    public PackedRnnOutput Forward(PackedSequence input, Tensor<float>? h0 = null)
    {
        (PackedSequence output, Tensor<float> hN, _) = ForwardCore(input, h0, null);
        return new PackedRnnOutput(output, hN);
    }

    /// <summary>The allocation-free packed forward: <see cref="Forward(PackedSequence, Tensor{float}?)"/> on the caller's memory.</summary>
    /// <param name="input">Packed data <c>(sum(lengths), H_in)</c>, row-major.</param>
    /// <param name="batchSizes">Rows at each step: positive, non-increasing (<see cref="PackedSequence.BatchSizes"/>).</param>
    /// <param name="sortedIndices">The caller's batch index of each sorted row, or empty when the batch is in sorted order.</param>
    /// <param name="h0"><c>(D*num_layers, N, H_out)</c> in the caller's order, or empty for zeros.</param>
    /// <param name="output">Receives the packed output <c>(sum(lengths), D*H_out)</c>.</param>
    /// <param name="hN">Receives <c>(D*num_layers, N, H_out)</c> in the caller's order.</param>
    /// <param name="workspace">Scratch memory to reuse; <see langword="null"/> uses the module's pool.</param>
    /// <exception cref="System.ArgumentException">The batch sizes or indices are invalid, a length does not match, or <paramref name="output"/> overlaps a source.</exception>
    public void Forward(
        ReadOnlySpan<float> input, ReadOnlySpan<int> batchSizes, ReadOnlySpan<int> sortedIndices, ReadOnlySpan<float> h0, Span<float> output, Span<float> hN, RecurrentWorkspace? workspace = null) =>
        ForwardCore(input, batchSizes, sortedIndices, h0, default, output, hN, default, workspace);

    /// <summary>
    /// Backpropagation through time for the last training-mode <see cref="Forward(Tensor{float}, Tensor{float}?)"/>:
    /// accumulates every parameter's <see cref="Parameter.Grad"/> and returns dL/d(input) and dL/dh0.
    /// </summary>
    /// <param name="gradOutput">dL/d(output), the output's shape.</param>
    /// <param name="gradHN">dL/dh_n, or null for zeros.</param>
    /// <exception cref="System.InvalidOperationException">No training-mode forward was recorded.</exception>
    public RnnGradients Backward(Tensor<float> gradOutput, Tensor<float>? gradHN = null) => BackwardCore(gradOutput, gradHN, null);

    /// <summary>
    /// Backpropagation through time for the last training-mode packed <see cref="Forward(PackedSequence, Tensor{float}?)"/>:
    /// <paramref name="gradOutput"/> is packed like the output; the input gradient comes back as packed data
    /// <c>(sum(lengths), H_in)</c>, dL/dh0 in the caller's batch order.
    /// </summary>
    /// <exception cref="System.InvalidOperationException">No training-mode forward was recorded.</exception>
    public RnnGradients Backward(PackedSequence gradOutput, Tensor<float>? gradHN = null) => BackwardCore(gradOutput?.Data!, gradHN, null);
}
