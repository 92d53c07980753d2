using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;
using Recurrent.Training;

namespace Recurrent;

/// <summary>
/// <c>torch.nn.Linear</c>: <c>y = x·Wᵀ + b</c> over the last dimension, W <c>(out_features, in_features)</c>. Initialised as
/// PyTorch does (kaiming-uniform with a = √5, so both W and b draw from U(-1/√in, 1/√in)). In training mode each <see cref="Forward"/> keeps its input so a <see cref="Backward"/> can run for it: several
/// forwards (a head applied at every step of a loop) are backpropagated newest first.
/// </summary>
public sealed class Linear : Module
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;
    private readonly TrainingMemory<Record> _training = new();

    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Size of each input row.</param>
    /// <param name="outFeatures">Size of each output row.</param>
    /// <param name="bias">Whether to add a learnable bias.</param>
    /// <param name="seed">Seed for the initial weights; null for a random one.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public Linear(int inFeatures, int outFeatures, bool bias = true, int? seed = null)
    {
        if (inFeatures < 0)
        {
            ThrowHelper.OutOfRange(nameof(inFeatures), inFeatures, "in_features must be zero or greater");
        }

        if (outFeatures < 0)
        {
            ThrowHelper.OutOfRange(nameof(outFeatures), outFeatures, "out_features must be zero or greater");
        }

        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Parameter.CheckSize("weight", [outFeatures, inFeatures], nameof(outFeatures));
        Parameter.CheckModelSize(((double)outFeatures * inFeatures) + outFeatures, 2, nameof(outFeatures), $"Linear({inFeatures}, {outFeatures})");
        _weight = Register("weight", outFeatures, inFeatures);
        _bias = bias ? Register("bias", outFeatures) : null;
        Random random = Init.CreateRandom(seed);
        float bound = inFeatures > 0 ? 1f / MathF.Sqrt(inFeatures) : 0f;
        Init.Uniform(_weight.Values, bound, random);
        if (_bias is not null)
        {
            Init.Uniform(_bias.Values, bound, random);
        }
    }

    /// <summary>Size of each input row (<c>in_features</c>).</summary>
    public int InFeatures { get; }

    /// <summary>Size of each output row (<c>out_features</c>).</summary>
    public int OutFeatures { get; }

    /// <summary>W, <c>(out_features, in_features)</c>.</summary>
    public Parameter Weight => _weight;

    /// <summary>b, <c>(out_features)</c>, or null without bias.</summary>
    public Parameter? Bias => _bias;

    /// <inheritdoc/>
    protected override string TorchName => "Linear";

    /// <summary><c>(*, in_features)</c> → <c>(*, out_features)</c>.</summary>
    /// <exception cref="ArgumentException">The last dimension is not <see cref="InFeatures"/>.</exception>
    public Tensor<float> Forward(Tensor<float> input)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        int rank = input.Rank;
        if (rank < 1 || TensorData.Length(input, rank - 1) != InFeatures)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"mat1 and mat2 shapes cannot be multiplied: input {ShapeText.List(input.Lengths)} has last dimension {(rank < 1 ? 0 : input.Lengths[rank - 1])}, Linear expects in_features={InFeatures}"),
                nameof(input));
        }

        ReadOnlySpan<float> x = TensorData.Read(input);
        int rows = Rows(input.Lengths);
        if ((long)rows * OutFeatures > Array.MaxLength)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"input {ShapeText.List(input.Lengths)} has {rows} rows: the output of {(long)rows * OutFeatures} elements (out_features={OutFeatures}) would be more than a .NET array holds"),
                nameof(input));
        }

        float[] y = new float[rows * OutFeatures];
        using (ReadingValues())
        {
            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<float> row = x.Slice(r * InFeatures, InFeatures);
                for (int o = 0; o < OutFeatures; o++)
                {
                    y[(r * OutFeatures) + o] = TensorPrimitives.Dot(row, _weight.Values.AsSpan(o * InFeatures, InFeatures)) + (_bias is null ? 0f : _bias.Values[o]);
                }
            }
        }

        if (Training)
        {
            // Kept even when W and b are frozen: Backward still owes dL/d(input) to the layers before.
            TrainingScratch memory = _training.Rent();
            float[] kept = memory.Get(TrainingArray.LinearInput, 0, x.Length, clear: false);
            x.CopyTo(kept);
            _training.Push(new Record(kept, input.Lengths.ToArray()), memory);
        }

        nint[] lengths = input.Lengths.ToArray();
        lengths[^1] = OutFeatures;
        return Tensor.Create(y, lengths);
    }

    /// <summary>
    /// For the newest training-mode <see cref="Forward"/> not yet backpropagated: adds dL/dW and dL/db to the parameters'
    /// Grad (a frozen parameter gets none) and returns dL/d(input).
    /// </summary>
    /// <exception cref="InvalidOperationException">No training-mode forward was recorded.</exception>
    public Tensor<float> Backward(Tensor<float> gradOutput)
    {
        if (gradOutput is null)
        {
            ThrowHelper.Null(nameof(gradOutput));
        }

        (float[] x, nint[] inputLengths) = _training.Peek(TorchName);
        ReadOnlySpan<float> dy = TensorData.Read(gradOutput);
        int rows = Rows(inputLengths);
        if (dy.Length != rows * OutFeatures)
        {
            ThrowHelper.Argument($"gradOutput must hold {rows * OutFeatures} floats (the forward output's shape), got {dy.Length}", nameof(gradOutput));
        }

        float[] dW = new float[_weight.Length];
        float[] db = new float[OutFeatures];
        float[] dx = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xRow = x.AsSpan(r * InFeatures, InFeatures);
            Span<float> dxRow = dx.AsSpan(r * InFeatures, InFeatures);
            for (int o = 0; o < OutFeatures; o++)
            {
                float g = dy[(r * OutFeatures) + o];
                db[o] += g;
                Span<float> wRow = dW.AsSpan(o * InFeatures, InFeatures);
                TensorPrimitives.MultiplyAdd(xRow, g, wRow, wRow);
                TensorPrimitives.MultiplyAdd(_weight.Values.AsSpan(o * InFeatures, InFeatures), g, dxRow, dxRow);
            }
        }

        _weight.AccumulateGrad(dW);
        _bias?.AccumulateGrad(db);

        _training.Return(_training.Pop(TorchName).Memory);
        return Tensor.Create(dx, inputLengths);
    }

    /// <inheritdoc/>
    private protected override void ReleaseTrainingMemory() => _training.Release();

    /// <summary>A training forward's input (in memory of its own) and shape.</summary>
    private sealed record Record(float[] Input, nint[] Lengths);

    private static int Rows(ReadOnlySpan<nint> lengths)
    {
        long rows = 1;
        foreach (nint n in lengths[..^1])
        {
            rows *= n;
            if (rows > Array.MaxLength)
            {
                ThrowHelper.Argument($"input {ShapeText.List(lengths)} has more rows than a .NET array holds ({Array.MaxLength})", "input");
            }
        }

        return (int)rows;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        string.Create(CultureInfo.InvariantCulture, $"in_features={InFeatures}, out_features={OutFeatures}, bias={(_bias is null ? "False" : "True")}");
}
