using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// A learnable tensor of a <see cref="Module"/>, like <c>torch.nn.Parameter</c>: its values in <see cref="Data"/>
/// and, once a backward pass has run, its gradient in <see cref="Grad"/>.
/// </summary>
public sealed class Parameter
{
    private readonly int[] _shape;

    internal Parameter(string name, params int[] shape)
    {
        _shape = shape;
        Values = new float[CheckSize(name, shape)];
        Data = TensorData.Wrap(Values, shape);
    }

    /// <summary>The element count of a parameter of <paramref name="shape"/>; one larger than a .NET array holds is refused.</summary>
    /// <exception cref="ArgumentException">The shape has more elements than an array holds.</exception>
    internal static long CheckSize(string name, int[] shape, string paramName = "hiddenSize")
    {
        long length = 1;
        foreach (int d in shape)
        {
            length *= d;
            if (length > Array.MaxLength)
            {
                ThrowHelper.Argument(
                    $"{name} of shape {ShapeText.List(shape)} would have more than {Array.MaxLength} elements, the most a .NET array holds",
                    paramName);
            }
        }

        return length;
    }

    /// <summary>
    /// Refuses a model whose weights alone would need more memory than this process may use (the GC's
    /// <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>), before anything is allocated: such a model could only end in
    /// an <see cref="OutOfMemoryException"/> part-way through building it.
    /// </summary>
    /// <param name="floats">Every weight's element count, summed (as a double: it may pass any integer type).</param>
    /// <param name="parameters">How many parameter tensors the model has (each costs a few objects).</param>
    /// <param name="paramName">The argument to name in the error.</param>
    /// <param name="what">The model, for the message.</param>
    /// <exception cref="ArgumentException">The estimate exceeds the memory available.</exception>
    internal static void CheckModelSize(double floats, double parameters, string paramName, string what)
    {
        // The values, and the packed copy the recurrent kernels run on; a parameter's objects take a few hundred bytes.
        double bytes = (floats * sizeof(float) * 2) + (parameters * 512);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
        {
            ThrowHelper.Argument(
                string.Create(CultureInfo.InvariantCulture, $"{what} would need about {bytes:0.###e0} bytes for its weights, more than the {available} bytes this process may use"),
                paramName);
        }
    }

    /// <summary>
    /// The values, a dense tensor of <see cref="Shape"/> that shares memory with the module. The recurrent modules run on
    /// a packed copy of their weights: after writing here, call the module's <c>FlattenParameters()</c>
    /// (<see cref="Module.LoadStateDict"/> does that for you).
    /// </summary>
    public Tensor<float> Data { get; }

    private Tensor<float>? _grad;
    private float[]? _gradValues;

    /// <summary>
    /// The accumulated gradient, or <see langword="null"/> before any backward pass (as in PyTorch). Each backward pass
    /// adds to it until <see cref="Module.ZeroGrad"/> clears it.
    /// </summary>
    /// <exception cref="ArgumentException">The assigned tensor's shape differs from the parameter's (PyTorch refuses it too).</exception>
    public Tensor<float>? Grad
    {
        get => _grad;
        set
        {
            if (value is not null && !value.Lengths.SequenceEqual(Array.ConvertAll(_shape, d => (nint)d)))
            {
                ThrowHelper.Argument(
                    $"assigned grad has data of a different size: the parameter is {ShapeText.List(_shape)}, the gradient {ShapeText.List(value.Lengths)}", nameof(value));
            }

            _grad = value;
            _gradValues = null;
        }
    }

    /// <summary>Whether an optimizer may update this parameter (<c>requires_grad</c>); a frozen pretrained embedding has <see langword="false"/>.</summary>
    public bool RequiresGrad { get; set; } = true;

    /// <summary>The shape, e.g. <c>[20, 3]</c> for <c>weight_ih_l0</c> of <c>LSTM(3, 5)</c>.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of elements.</summary>
    public int Length => Values.Length;

    /// <summary>The module that registered this parameter, told when an optimizer changes it.</summary>
    internal Module? Owner { get; init; }

    /// <summary>The row-major storage behind <see cref="Data"/>; kernels read it directly.</summary>
    internal float[] Values { get; }

    /// <summary>Adds <paramref name="gradient"/> (row-major, <see cref="Length"/> floats) to <see cref="Grad"/>; nothing when frozen.</summary>
    internal void AccumulateGrad(ReadOnlySpan<float> gradient)
    {
        if (!RequiresGrad)
        {
            return;
        }

        Span<float> values = GradValues();
        TensorPrimitives.Add(values, gradient, values);
    }

    /// <summary>The gradient's storage, owned by this parameter (a user-set <see cref="Grad"/> is copied in once); zeros if there was none.</summary>
    internal float[] GradValues()
    {
        if (_gradValues is null)
        {
            float[] values = new float[Length];
            if (_grad is not null)
            {
                TensorData.Read(_grad).CopyTo(values);
            }

            _gradValues = values;
            _grad = TensorData.Wrap(values, _shape);
        }

        return _gradValues;
    }

    /// <inheritdoc/>
    public override string ToString() => "Parameter " + ShapeText.List(_shape);
}
