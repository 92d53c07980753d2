using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using System.Threading;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// The base of every layer, like <c>torch.nn.Module</c>: named parameters in PyTorch's registration order,
/// <c>state_dict</c> save and load with PyTorch's keys, and the training/evaluation switch.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The values lock makes wait handles only under contention and the finalizer frees them; modules, as in PyTorch, are not disposed.")]
public abstract class Module
{
    private readonly List<KeyValuePair<string, Parameter>> _parameters = [];

    // Held for writing while LoadStateDict copies values in, for reading by StateDict and by a forward that reads the
    // values themselves rather than a packed snapshot (Linear, Embedding): each sees all old or all new values.
    private readonly ReaderWriterLockSlim _valuesLock = new(LockRecursionPolicy.NoRecursion);

    /// <summary>Whether the module is in training mode (<c>module.training</c>); new modules are, as in PyTorch.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The PyTorch class name this module mirrors, used in messages and <see cref="ToString"/> (e.g. <c>LSTM</c>).</summary>
    protected abstract string TorchName { get; }

    /// <summary><see cref="TorchName"/>, for the library's own messages (a summary's checks).</summary>
    internal string Name => TorchName;

    /// <summary>Sets <see cref="Training"/>; <see cref="ModuleExtensions.Train"/> and <see cref="ModuleExtensions.Eval"/> call it.</summary>
    internal void SetTraining(bool mode)
    {
        Training = mode;
        if (!mode)
        {
            ReleaseTrainingMemory();
        }
    }

    /// <summary>
    /// Called on <see cref="ModuleExtensions.Eval"/>: a module that kept memory between training steps lets it go, unless a
    /// recorded forward still waits for its Backward (PyTorch allows <c>eval()</c> between the two).
    /// </summary>
    private protected virtual void ReleaseTrainingMemory()
    {
    }

    /// <summary>The parameters with their <c>state_dict</c> names, in PyTorch's order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        foreach (KeyValuePair<string, Parameter> p in _parameters)
        {
            yield return (p.Key, p.Value);
        }
    }

    /// <summary>The parameters in PyTorch's order.</summary>
    public IEnumerable<Parameter> Parameters()
    {
        foreach (KeyValuePair<string, Parameter> p in _parameters)
        {
            yield return p.Value;
        }
    }

    /// <summary>
    /// A copy of every parameter under PyTorch's <c>state_dict</c> key, in PyTorch's order
    /// (e.g. <c>weight_ih_l0</c>, <c>weight_hh_l0</c>, <c>bias_ih_l0</c>, <c>bias_hh_l0</c>, <c>weight_ih_l0_reverse</c>, …).
    /// Unlike PyTorch the tensors are copies: changing them does not change the module.
    /// </summary>
    public OrderedDictionary<string, Tensor<float>> StateDict()
    {
        var state = new OrderedDictionary<string, Tensor<float>>(_parameters.Count);
        using (ReadingValues())
        {
            foreach (KeyValuePair<string, Parameter> p in _parameters)
            {
                state.Add(p.Key, TensorData.Wrap((float[])p.Value.Values.Clone(), p.Value.Shape));
            }
        }

        return state;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into the parameters of the same name, as <c>load_state_dict</c> does.
    /// Every key and shape is checked before anything is copied, so a failed load leaves the module unchanged.
    /// </summary>
    /// <param name="state">Parameter name to tensor, e.g. a PyTorch <c>state_dict</c>.</param>
    /// <param name="strict">When <see langword="true"/>, missing and unexpected keys are errors; shape mismatches always are.</param>
    /// <returns>The keys that did not match (both lists empty after a strict load).</returns>
    /// <exception cref="ArgumentException">A key is missing or unexpected (strict), or a tensor's shape differs from the parameter's.</exception>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor<float>> state, bool strict = true)
    {
        if (state is null)
        {
            ThrowHelper.Null(nameof(state));
        }

        var expected = new List<KeyValuePair<string, int[]>>(_parameters.Count);
        foreach (KeyValuePair<string, Parameter> p in _parameters)
        {
            expected.Add(new(p.Key, p.Value.Shape.ToArray()));
        }

        (List<string> missing, List<string> unexpected) = CheckState(TorchName, expected, state, strict);
        using (WritingValues())
        {
            foreach (KeyValuePair<string, Parameter> p in _parameters)
            {
                if (state.TryGetValue(p.Key, out Tensor<float>? tensor) && tensor is not null)
                {
                    TensorData.Read(tensor).CopyTo(p.Value.Values);
                }
            }

            OnParametersChanged();
        }

        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>PyTorch's repr: <c>LSTM(3, 5, num_layers=2, batch_first=True)</c>.</summary>
    public override string ToString() => TorchName + "(" + ExtraRepr() + ")";

    /// <summary>The arguments part of <see cref="ToString"/>, PyTorch's <c>extra_repr</c>.</summary>
    protected abstract string ExtraRepr();

    /// <summary>
    /// Holds the parameter values still for reading until disposed: forwards that read <see cref="Parameter.Values"/>
    /// directly take it, so a concurrent <see cref="LoadStateDict"/> gives them all old or all new values.
    /// </summary>
    private protected ValuesLease ReadingValues()
    {
        _valuesLock.EnterReadLock();
        return new ValuesLease(_valuesLock, write: false);
    }

    /// <summary>Holds the parameter values for writing until disposed (waits for every reader to leave).</summary>
    private protected ValuesLease WritingValues()
    {
        _valuesLock.EnterWriteLock();
        return new ValuesLease(_valuesLock, write: true);
    }

    /// <summary>Called after <see cref="LoadStateDict"/> changed parameter values, so derived state (packed weights) can be rebuilt.</summary>
    protected virtual void OnParametersChanged()
    {
    }

    /// <summary>Whether any parameter takes gradients, i.e. whether a training forward must be recorded for Backward.</summary>
    private protected bool AnyRequiresGrad()
    {
        foreach (Parameter p in Parameters())
        {
            if (p.RequiresGrad)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Tells the module its parameter values were changed in place (by an optimizer step).</summary>
    internal void ParametersChanged() => OnParametersChanged();

    /// <summary>Clears every parameter's gradient (<c>zero_grad(set_to_none=True)</c>, PyTorch 2.x's default).</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in Parameters())
        {
            p.Grad = null;
        }
    }

    /// <summary>Registers a parameter under its <c>state_dict</c> key; the order of calls is the <c>state_dict</c> order.</summary>
    private protected Parameter Register(string name, params int[] shape)
    {
        var p = new Parameter(name, shape) { Owner = this };
        _parameters.Add(new KeyValuePair<string, Parameter>(name, p));
        return p;
    }

    /// <summary>Formats a float as Python's <c>repr(float)</c> does for the values that appear in reprs (<c>0.5</c>, <c>1.0</c>, <c>inf</c>).</summary>
    private protected static string PythonFloat(float value)
    {
        if (float.IsPositiveInfinity(value))
        {
            return "inf";
        }

        if (float.IsNegativeInfinity(value))
        {
            return "-inf";
        }

        string s = value.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.', StringComparison.Ordinal) || s.Contains('E', StringComparison.Ordinal) || s.Contains('N', StringComparison.Ordinal) ? s : s + ".0";
    }

    /// <summary>
    /// <c>load_state_dict</c>'s checks, in its words: every expected key present with its shape, no unexpected key (when
    /// <paramref name="strict"/>); a shape mismatch always fails. Returns the missing and unexpected keys.
    /// </summary>
    internal static (List<string> Missing, List<string> Unexpected) CheckState(
        string torchName, IEnumerable<KeyValuePair<string, int[]>> expected, IReadOnlyDictionary<string, Tensor<float>> state, bool strict)
    {
        var missing = new List<string>();
        var mismatched = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string key, int[] shape) in expected)
        {
            known.Add(key);
            if (!state.TryGetValue(key, out Tensor<float>? tensor) || tensor is null)
            {
                missing.Add(key);
            }
            else if (!SameShape(tensor.Lengths, shape))
            {
                mismatched.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"size mismatch for {key}: copying a param with shape {ShapeText.List(tensor.Lengths)} from checkpoint, the shape in current model is {ShapeText.List(shape)}."));
            }
        }

        var unexpected = new List<string>();
        foreach (string key in state.Keys)
        {
            if (!known.Contains(key))
            {
                unexpected.Add(key);
            }
        }

        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            var sb = new StringBuilder();
            sb.Append("Error(s) in loading state_dict for ").Append(torchName).Append(':');
            if (strict && missing.Count > 0)
            {
                sb.Append("\n\tMissing key(s) in state_dict: ").Append(QuotedList(missing)).Append('.');
            }

            if (strict && unexpected.Count > 0)
            {
                sb.Append("\n\tUnexpected key(s) in state_dict: ").Append(QuotedList(unexpected)).Append('.');
            }

            foreach (string m in mismatched)
            {
                sb.Append("\n\t").Append(m);
            }

            ThrowHelper.Argument(sb.ToString(), nameof(state));
        }

        return (missing, unexpected);
    }

    private static bool SameShape(ReadOnlySpan<nint> lengths, ReadOnlySpan<int> shape)
    {
        if (lengths.Length != shape.Length)
        {
            return false;
        }

        for (int i = 0; i < shape.Length; i++)
        {
            if (lengths[i] != shape[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string QuotedList(List<string> keys) => "\"" + string.Join("\", \"", keys) + "\"";

    /// <summary>A held read or write lock on a module's values; <c>using</c> releases it.</summary>
    private protected readonly ref struct ValuesLease(ReaderWriterLockSlim valuesLock, bool write)
    {
        public void Dispose()
        {
            if (write)
            {
                valuesLock.ExitWriteLock();
            }
            else
            {
                valuesLock.ExitReadLock();
            }
        }
    }
}
