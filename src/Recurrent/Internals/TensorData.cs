using System;
using System.Numerics.Tensors;

namespace Recurrent.Internals;

/// <summary>Moves data between <see cref="Tensor{T}"/> and the flat row-major spans the kernels work on.</summary>
internal static class TensorData
{
    /// <summary>The tensor's elements in row-major order: the tensor's own memory when it is dense, otherwise a copy.</summary>
    public static ReadOnlySpan<T> Read<T>(Tensor<T> tensor)
    {
        nint length = tensor.FlattenedLength;
        if (length == 0)
        {
            return ReadOnlySpan<T>.Empty;
        }

        if (length > Array.MaxLength)
        {
            ThrowHelper.Argument($"a tensor of shape {ShapeText.List(tensor.Lengths)} has more elements than a .NET array holds ({Array.MaxLength})", nameof(tensor));
        }

        if (tensor.IsDense)
        {
            Span<nint> start = tensor.Rank <= 8 ? stackalloc nint[tensor.Rank] : new nint[tensor.Rank];
            start.Clear();
            if (tensor.TryGetSpan(start, checked((int)length), out ReadOnlySpan<T> span))
            {
                return span;
            }
        }

        var copy = new T[length];
        tensor.FlattenTo(copy);
        return copy;
    }

    /// <summary>A new dense tensor over <paramref name="data"/> (no copy) with the given lengths.</summary>
    public static Tensor<float> Wrap(float[] data, params ReadOnlySpan<int> lengths)
    {
        Span<nint> n = stackalloc nint[lengths.Length];
        for (int i = 0; i < lengths.Length; i++)
        {
            n[i] = lengths[i];
        }

        return Tensor.Create(data, n);
    }

    /// <summary>The tensor's lengths as <see cref="int"/>; a dimension past <see cref="int.MaxValue"/> is refused.</summary>
    public static int Length<T>(Tensor<T> tensor, int dimension) => ToInt(tensor.Lengths[dimension], tensor.Lengths);

    /// <summary>A dimension as <see cref="int"/>; one past <see cref="int.MaxValue"/> (possible with broadcast strides) is refused.</summary>
    public static int ToInt(nint dimension, ReadOnlySpan<nint> lengths)
    {
        if (dimension > int.MaxValue)
        {
            ThrowHelper.Argument($"a tensor of shape {ShapeText.List(lengths)} has a dimension larger than {int.MaxValue}", "input");
        }

        return (int)dimension;
    }
}
