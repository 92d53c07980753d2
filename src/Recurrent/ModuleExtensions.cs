namespace Recurrent;

/// <summary>
/// <c>module.train()</c> and <c>module.eval()</c>, returning the module as its own type so calls chain as in PyTorch:
/// <c>var (output, hN) = gru.Eval().Forward(x);</c>.
/// </summary>
public static class ModuleExtensions
{
    /// <summary>Switches training mode on or off (<c>module.train(mode)</c>) and returns the module.</summary>
    /// <typeparam name="TModule">The module's type.</typeparam>
    /// <param name="module">The module.</param>
    /// <param name="mode"><see langword="true"/> for training mode (dropout active).</param>
    public static TModule Train<TModule>(this TModule module, bool mode = true)
        where TModule : Module
    {
        System.ArgumentNullException.ThrowIfNull(module);
        module.SetTraining(mode);
        return module;
    }

    /// <summary>Switches to evaluation mode (<c>module.eval()</c>, no dropout) and returns the module.</summary>
    /// <typeparam name="TModule">The module's type.</typeparam>
    /// <param name="module">The module.</param>
    public static TModule Eval<TModule>(this TModule module)
        where TModule : Module => module.Train(false);
}
