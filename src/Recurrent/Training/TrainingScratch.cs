using System;
using System.Collections.Generic;
using Recurrent.Engine;

namespace Recurrent.Training;

/// <summary>
/// The memory of a module's training passes (the forward's record and the backward's temporaries), kept between calls:
/// an array is named by what it holds (<see cref="TrainingArray"/>) and which (layer, direction) it serves, and is reallocated only when its size
/// changes, so a training loop over same-shaped batches stops allocating after its first step (large arrays would otherwise
/// churn the large-object heap and its full collections on every step). One module's training calls are not concurrent.
/// </summary>
internal sealed class TrainingScratch
{
    private readonly Dictionary<(TrainingArray Name, int Index), float[]> _arrays = [];
    private readonly Dictionary<(TrainingArray Name, int Index), int[]> _indices = [];
    private readonly Dictionary<(TrainingArray Name, int Index), PackedMatrix> _matrices = [];

    /// <summary>The floats held (an index counts as one: both are 4 bytes), for memory budgets and diagnostics.</summary>
    public long HeldFloats
    {
        get
        {
            long total = 0;
            foreach (float[] array in _arrays.Values)
            {
                total += array.Length;
            }

            foreach (int[] array in _indices.Values)
            {
                total += array.Length;
            }

            foreach (PackedMatrix matrix in _matrices.Values)
            {
                total += matrix.Data.Length;
            }

            return total;
        }
    }

    /// <summary>Lets every array go (the next training call allocates afresh).</summary>
    public void Clear()
    {
        _arrays.Clear();
        _indices.Clear();
        _matrices.Clear();
    }

    /// <summary>An array of exactly <paramref name="length"/> floats; zeroed when <paramref name="clear"/>, otherwise holding whatever it last held.</summary>
    public float[] Get(TrainingArray name, int index, int length, bool clear)
    {
        if (!_arrays.TryGetValue((name, index), out float[]? array) || array.Length != length)
        {
            array = new float[length];
            _arrays[(name, index)] = array;
        }
        else if (clear)
        {
            Array.Clear(array);
        }

        return array;
    }

    /// <summary>
    /// Where a backward pass adds the gradients of one (layer, direction)'s parameters <paramref name="set"/> (W_ih, W_hh,
    /// b_ih, b_hh, W_hr; the absent ones null): each parameter's own gradient storage, or for a frozen one a throwaway array
    /// kept here.
    /// </summary>
    public LayerWeights GradTargets(ReadOnlySpan<Parameter?> set, int index) => new(
        Target(set[0], TrainingArray.FrozenWih, index)!, Target(set[1], TrainingArray.FrozenWhh, index)!, Target(set[2], TrainingArray.FrozenBih, index), Target(set[3], TrainingArray.FrozenBhh, index), Target(set[4], TrainingArray.FrozenWhr, index));

    private float[]? Target(Parameter? p, TrainingArray name, int index) =>
        p is null ? null : p.RequiresGrad ? p.GradValues() : Get(name, index, p.Length, clear: true);

    /// <summary>An index array of exactly <paramref name="length"/> ints, holding whatever it last held.</summary>
    public int[] GetIndices(TrainingArray name, int index, int length)
    {
        if (!_indices.TryGetValue((name, index), out int[]? array) || array.Length != length)
        {
            array = new int[length];
            _indices[(name, index)] = array;
        }

        return array;
    }

    /// <summary><paramref name="b"/> (row-major <c>(k, n)</c>) packed for the panel kernels, into the matrix this name kept.</summary>
    public PackedMatrix Pack(TrainingArray name, int index, ReadOnlySpan<float> b, int k, int n)
    {
        if (!_matrices.TryGetValue((name, index), out PackedMatrix? matrix) || matrix.K != k || matrix.N != n)
        {
            matrix = new PackedMatrix(k, n);
            _matrices[(name, index)] = matrix;
        }

        matrix.Fill(b);
        return matrix;
    }
}
