using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Text;
using Recurrent.Internals;
using Recurrent.Training;

namespace Recurrent;

/// <summary>
/// A lookup table of <c>numEmbeddings</c> vectors of size <c>embeddingDim</c>, <c>torch.nn.Embedding</c>:
/// indices of any shape <c>(*)</c> give <c>(*, embeddingDim)</c>. With <c>maxNorm</c>, every row a call refers to is
/// renormalised in place first, as PyTorch does.
/// </summary>
public sealed class Embedding : Module
{
    private readonly Parameter _weight;
    private readonly TrainingMemory<int[]> _training = new();

    /// <summary>Creates the table with rows drawn from N(0, 1) and the padding row zeroed, as PyTorch does.</summary>
    /// <param name="numEmbeddings">The number of rows.</param>
    /// <param name="embeddingDim">The size of each row.</param>
    /// <param name="paddingIdx">A row that gets no gradient and starts at zero; negative counts from the end.</param>
    /// <param name="maxNorm">If set, referenced rows with a larger <paramref name="normType"/>-norm are scaled down to it.</param>
    /// <param name="normType">The p of the p-norm for <paramref name="maxNorm"/> (∞ allowed).</param>
    /// <param name="scaleGradByFreq">Whether gradients are divided by each index's frequency in the mini-batch.</param>
    /// <param name="seed">Seed for the initial weights; <see langword="null"/> for a random one.</param>
    /// <exception cref="ArgumentException">A size is negative or <paramref name="paddingIdx"/> is outside the table.</exception>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null, float? maxNorm = null, float normType = 2f, bool scaleGradByFreq = false, int? seed = null)
        : this(numEmbeddings, embeddingDim, paddingIdx, maxNorm, normType, scaleGradByFreq)
    {
        Init.Normal(_weight.Values, Init.CreateRandom(seed));
        if (PaddingIdx is int p)
        {
            _weight.Values.AsSpan(p * embeddingDim, embeddingDim).Clear();
        }
    }

    private Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx, float? maxNorm, float normType, bool scaleGradByFreq)
    {
        if (numEmbeddings < 0)
        {
            ThrowHelper.OutOfRange(nameof(numEmbeddings), numEmbeddings, "num_embeddings must be zero or greater");
        }

        if (embeddingDim < 0)
        {
            ThrowHelper.OutOfRange(nameof(embeddingDim), embeddingDim, "embedding_dim must be zero or greater");
        }

        if (paddingIdx is int padding)
        {
            if (padding >= numEmbeddings || padding < -numEmbeddings)
            {
                ThrowHelper.OutOfRange(
                    nameof(paddingIdx),
                    padding,
                    string.Create(CultureInfo.InvariantCulture, $"Padding_idx must be within num_embeddings: expected -{numEmbeddings} <= padding_idx < {numEmbeddings}, got {padding}"));
            }

            PaddingIdx = padding < 0 ? numEmbeddings + padding : padding;
        }

        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        MaxNorm = maxNorm;
        NormType = normType;
        ScaleGradByFreq = scaleGradByFreq;
        Parameter.CheckSize("weight", [numEmbeddings, embeddingDim], nameof(embeddingDim));
        Parameter.CheckModelSize((double)numEmbeddings * embeddingDim, 1, nameof(numEmbeddings), $"Embedding({numEmbeddings}, {embeddingDim})");
        _weight = Register("weight", numEmbeddings, embeddingDim);
    }

    /// <summary>The number of rows (<c>num_embeddings</c>).</summary>
    public int NumEmbeddings { get; }

    /// <summary>The size of each row (<c>embedding_dim</c>).</summary>
    public int EmbeddingDim { get; }

    /// <summary>The padding row, normalised to be non-negative, or <see langword="null"/>.</summary>
    public int? PaddingIdx { get; }

    /// <summary>The largest norm a referenced row may have, or <see langword="null"/>.</summary>
    public float? MaxNorm { get; }

    /// <summary>The p of the p-norm used with <see cref="MaxNorm"/>.</summary>
    public float NormType { get; }

    /// <summary>Whether gradients are scaled by the inverse frequency of each index in the mini-batch.</summary>
    public bool ScaleGradByFreq { get; }

    /// <summary>The table, <c>(num_embeddings, embedding_dim)</c>; its <c>state_dict</c> key is <c>weight</c>.</summary>
    public Parameter Weight => _weight;

    /// <inheritdoc/>
    protected override string TorchName => "Embedding";

    /// <summary>
    /// Creates an embedding from a pretrained table, <c>Embedding.from_pretrained</c>. The values are copied and not
    /// re-initialised: the padding row keeps its values.
    /// </summary>
    /// <param name="embeddings">The table, <c>(num_embeddings, embedding_dim)</c>.</param>
    /// <param name="freeze">When <see langword="true"/> the weight gets no gradient (<c>requires_grad = False</c>).</param>
    /// <param name="paddingIdx">See the constructor.</param>
    /// <param name="maxNorm">See the constructor.</param>
    /// <param name="normType">See the constructor.</param>
    /// <param name="scaleGradByFreq">See the constructor.</param>
    /// <exception cref="ArgumentException"><paramref name="embeddings"/> is not 2-D, or <paramref name="paddingIdx"/> is outside it.</exception>
    public static Embedding FromPretrained(
        Tensor<float> embeddings, bool freeze = true, int? paddingIdx = null, float? maxNorm = null, float normType = 2f, bool scaleGradByFreq = false)
    {
        if (embeddings is null)
        {
            ThrowHelper.Null(nameof(embeddings));
        }

        if (embeddings.Rank != 2)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"Embeddings parameter is expected to be 2-dimensional, got {embeddings.Rank}-dimensional {ShapeText.List(embeddings.Lengths)}"),
                nameof(embeddings));
        }

        var embedding = new Embedding(TensorData.Length(embeddings, 0), TensorData.Length(embeddings, 1), paddingIdx, maxNorm, normType, scaleGradByFreq);
        TensorData.Read(embeddings).CopyTo(embedding._weight.Values);
        embedding._weight.RequiresGrad = !freeze;
        return embedding;
    }

    /// <summary>Looks up each index.</summary>
    /// <param name="indices">Indices of any shape <c>(*)</c>, each in <c>[0, num_embeddings)</c>.</param>
    /// <returns><c>(*, embedding_dim)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the table (nothing is changed).</exception>
    public Tensor<float> Forward(Tensor<long> indices) => ForwardCore(indices);

    /// <inheritdoc cref="Forward(Tensor{long})"/>
    public Tensor<float> Forward(Tensor<int> indices) => ForwardCore(indices);

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{NumEmbeddings}, {EmbeddingDim}");
        if (PaddingIdx is int p)
        {
            sb.Append(CultureInfo.InvariantCulture, $", padding_idx={p}");
        }

        if (MaxNorm is float m)
        {
            sb.Append(", max_norm=").Append(PythonFloat(m));
        }

        if (NormType != 2f)
        {
            sb.Append(", norm_type=").Append(PythonFloat(NormType));
        }

        if (ScaleGradByFreq)
        {
            sb.Append(", scale_grad_by_freq=True");
        }

        return sb.ToString();
    }

    private Tensor<float> ForwardCore<TIndex>(Tensor<TIndex> indices)
        where TIndex : IBinaryInteger<TIndex>
    {
        if (indices is null)
        {
            ThrowHelper.Null(nameof(indices));
        }

        ReadOnlySpan<TIndex> idx = TensorData.Read(indices);
        var rows = new int[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            long index = long.CreateTruncating(idx[i]);
            if (index < 0 || index >= NumEmbeddings)
            {
                ThrowHelper.OutOfRange(
                    nameof(indices),
                    index,
                    string.Create(CultureInfo.InvariantCulture, $"index out of range in self: expected indices in [0, {NumEmbeddings}), got {index} at flat position {i}"));
            }

            rows[i] = (int)index;
        }

        int dim = EmbeddingDim;
        long outputLength = (long)rows.Length * dim;
        if (outputLength > Array.MaxLength)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"{rows.Length} indices of {dim}-wide rows would need {outputLength} output elements, more than a .NET array holds"),
                nameof(indices));
        }

        var output = new float[outputLength];
        // Renormalising writes the table, as in PyTorch; a plain lookup only reads it.
        using (MaxNorm is null ? ReadingValues() : WritingValues())
        {
            if (MaxNorm is float maxNorm)
            {
                Renorm(rows, maxNorm);
            }

            float[] table = _weight.Values;
            for (int i = 0; i < rows.Length; i++)
            {
                table.AsSpan(rows[i] * dim, dim).CopyTo(output.AsSpan(i * dim, dim));
            }
        }

        if (Training && _weight.RequiresGrad)
        {
            // The rows this call read, for its Backward (several calls are backpropagated newest first).
            TrainingScratch memory = _training.Rent();
            int[] kept = memory.GetIndices(TrainingArray.EmbeddingRows, 0, rows.Length);
            rows.CopyTo(kept, 0);
            _training.Push(kept, memory);
        }
        ReadOnlySpan<nint> inLengths = indices.Lengths;
        var lengths = new nint[inLengths.Length + 1];
        inLengths.CopyTo(lengths);
        lengths[^1] = dim;
        return Tensor.Create(output, lengths);
    }

    /// <summary>
    /// For the newest training-mode <c>Forward</c> not yet backpropagated: adds each output row's gradient to its table row in <see cref="Weight"/>'s
    /// Grad, as <c>embedding_backward</c> does: nothing for <see cref="PaddingIdx"/>, each row divided by its count in the
    /// batch when <see cref="ScaleGradByFreq"/>, nothing at all for a frozen table. Indices have no gradient.
    /// </summary>
    /// <param name="gradOutput">dL/d(output), <c>(*, embedding_dim)</c> as the forward returned.</param>
    /// <exception cref="InvalidOperationException">No training-mode forward (with a trainable table) was recorded.</exception>
    public void Backward(Tensor<float> gradOutput)
    {
        if (gradOutput is null)
        {
            ThrowHelper.Null(nameof(gradOutput));
        }

        if (!_weight.RequiresGrad)
        {
            throw new InvalidOperationException("Embedding.Backward: a frozen table (requires_grad false) records nothing and has no gradient to add.");
        }

        int[] rows = _training.Peek(TorchName);
        int dim = EmbeddingDim;
        ReadOnlySpan<float> dy = TensorData.Read(gradOutput);
        if (dy.Length != rows.Length * dim)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"gradOutput must hold {rows.Length * dim} floats (the forward output's shape), got {dy.Length}"), nameof(gradOutput));
        }

        var counts = new Dictionary<int, int>();
        if (ScaleGradByFreq)
        {
            foreach (int r in rows)
            {
                counts[r] = counts.GetValueOrDefault(r) + 1;
            }
        }

        float[] grad = new float[_weight.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if (r == PaddingIdx)
            {
                continue;
            }

            Span<float> target = grad.AsSpan(r * dim, dim);
            TensorPrimitives.MultiplyAdd(dy.Slice(i * dim, dim), ScaleGradByFreq ? 1f / counts[r] : 1f, target, target);
        }

        _weight.AccumulateGrad(grad);
        _training.Return(_training.Pop(TorchName).Memory);
    }

    /// <inheritdoc/>
    private protected override void ReleaseTrainingMemory() => _training.Release();

    /// <summary><c>embedding_renorm_</c>: each referenced row once, <c>row *= max_norm / (norm + 1e-7)</c> where its norm exceeds max_norm.</summary>
    private void Renorm(int[] rows, float maxNorm)
    {
        int dim = EmbeddingDim;
        var seen = new HashSet<int>();
        foreach (int r in rows)
        {
            if (!seen.Add(r))
            {
                continue;
            }

            Span<float> row = _weight.Values.AsSpan(r * dim, dim);
            float norm = Norm(row, NormType);
            if (norm > maxNorm)
            {
                float scale = (float)(maxNorm / (norm + 1e-7));
                TensorPrimitives.Multiply(row, scale, row);
            }
        }
    }

    private static float Norm(ReadOnlySpan<float> row, float p)
    {
        if (float.IsPositiveInfinity(p))
        {
            return row.IsEmpty ? 0f : MathF.Abs(TensorPrimitives.MaxMagnitude(row));
        }

        if (float.IsNegativeInfinity(p))
        {
            return row.IsEmpty ? 0f : MathF.Abs(TensorPrimitives.MinMagnitude(row));
        }

        double sum = 0;
        foreach (float x in row)
        {
            double a = Math.Abs((double)x);
            sum += p == 0f ? (a != 0 ? 1 : 0) : p == 1f ? a : p == 2f ? a * a : Math.Pow(a, p);
        }

        return (float)(p == 0f ? sum : p == 1f ? sum : p == 2f ? Math.Sqrt(sum) : Math.Pow(sum, 1.0 / p));
    }
}
