using System;
using System.Globalization;
using System.Numerics.Tensors;

namespace Recurrent.Internals;

/// <summary>
/// The shape of one cell step, checked as PyTorch's <c>RNNCellBase</c> does: input <c>(N, H_in)</c> or unbatched
/// <c>(H_in)</c>, h and c of the same rank as the input, the same batch and <c>hidden_size</c> wide.
/// </summary>
internal readonly record struct StepShape(int Batch, bool Unbatched)
{
    /// <summary>Checks input, h and c in PyTorch's order and returns the step's shape.</summary>
    public static StepShape Of(Tensor<float> input, Tensor<float>? h, Tensor<float>? c, string module, int inputSize, int hiddenSize, bool hasCellState)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        if (input.Rank is not 1 and not 2)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"{module}: Expected input to be 1D or 2D, got {input.Rank}D instead"), nameof(input));
        }

        CheckRank(h, input.Rank, module, hasCellState ? "hx[0]" : "hidden", nameof(h));
        CheckRank(c, input.Rank, module, "hx[1]", nameof(c));

        if (input.FlattenedLength > Array.MaxLength)
        {
            ThrowHelper.Argument($"input of shape {ShapeText.List(input.Lengths)} has more elements than a .NET array holds ({Array.MaxLength})", nameof(input));
        }

        bool unbatched = input.Rank == 1;
        var shape = new StepShape(unbatched ? 1 : TensorData.Length(input, 0), unbatched);
        int features = TensorData.Length(input, input.Rank - 1);
        if (features != inputSize)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"input has inconsistent input_size: got {features} expected {inputSize}"), nameof(input));
        }

        if ((long)shape.Batch * hiddenSize > Array.MaxLength)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"input of shape {ShapeText.List(input.Lengths)} gives h' of {(long)shape.Batch * hiddenSize} elements (N={shape.Batch} × hidden_size={hiddenSize}), more than a .NET array holds"),
                nameof(input));
        }

        shape.CheckState(h, hiddenSize, "hidden0", nameof(h));
        shape.CheckState(c, hiddenSize, "hidden1", nameof(c));
        return shape;
    }

    /// <summary>The lengths of a <paramref name="width"/>-wide tensor of this step: <c>(N, width)</c>, or <c>(width)</c> unbatched.</summary>
    public nint[] Lengths(int width) => Unbatched ? [width] : [Batch, width];

    private static void CheckRank(Tensor<float>? state, int inputRank, string module, string label, string paramName)
    {
        if (state is null)
        {
            return;
        }

        if (state.Rank is not 1 and not 2)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"{module}: Expected {label} to be 1D or 2D, got {state.Rank}D instead"), paramName);
        }

        if (state.Rank != inputRank)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"{module}: Expected {label} to be {inputRank}D like the input, got {state.Rank}D instead"), paramName);
        }
    }

    private void CheckState(Tensor<float>? state, int hiddenSize, string label, string paramName)
    {
        if (state is null)
        {
            return;
        }

        int stateBatch = Unbatched ? 1 : TensorData.Length(state, 0);
        if (stateBatch != Batch)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"Input batch size {Batch} doesn't match {label} batch size {stateBatch}"), paramName);
        }

        int width = TensorData.Length(state, state.Rank - 1);
        if (width != hiddenSize)
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"{label} has inconsistent hidden_size: got {width}, expected {hiddenSize}"), paramName);
        }
    }
}
