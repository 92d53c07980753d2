using System;
using System.Collections.Generic;
using System.Linq;
using Recurrent.Internals;

namespace Recurrent.Optim;

/// <summary>
/// What SGD, Adam and AdamW share, like <c>torch.optim.Optimizer</c>: the parameters, per-parameter state, and a
/// <see cref="Step"/> that skips parameters without a gradient. After a step the modules that own the parameters
/// re-pack their weights, so the next forward sees the new values.
/// </summary>
public abstract class Optimizer
{
    private readonly Parameter[] _parameters;
    private readonly Module[] _owners;

    /// <summary>Takes the parameters to update, e.g. <c>model.Parameters()</c> or several modules' concatenated.</summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    protected Optimizer(IEnumerable<Parameter> parameters)
    {
        if (parameters is null)
        {
            ThrowHelper.Null(nameof(parameters));
        }

        _parameters = parameters.Distinct().ToArray();
        if (_parameters.Length == 0)
        {
            ThrowHelper.Argument("optimizer got an empty parameter list", nameof(parameters));
        }

        _owners = _parameters.Select(p => p.Owner).OfType<Module>().Distinct().ToArray();
    }

    /// <summary>The learning rate; may be changed between steps (a schedule).</summary>
    public float LearningRate { get; set; }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step()
    {
        foreach (Parameter p in _parameters)
        {
            if (p.Grad is not null && p.RequiresGrad)
            {
                Update(p, p.Values, p.GradValues());
            }
        }

        foreach (Module owner in _owners)
        {
            owner.ParametersChanged();
        }
    }

    /// <summary>Clears every parameter's gradient (<c>set_to_none=True</c>).</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
        {
            p.Grad = null;
        }
    }

    /// <summary>One parameter's update rule.</summary>
    private protected abstract void Update(Parameter parameter, Span<float> values, Span<float> grad);

    private protected static void CheckNonNegative(float value, string name)
    {
        if (!(value >= 0f))
        {
            ThrowHelper.OutOfRange(name, value, $"Invalid {name} value: {value}");
        }
    }
}
