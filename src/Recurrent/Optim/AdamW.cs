using System.Collections.Generic;

namespace Recurrent.Optim;

/// <summary><c>torch.optim.AdamW</c>: Adam with decoupled weight decay, <c>p *= 1 - lr·wd</c> before the Adam step (default wd 0.01).</summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer with PyTorch's arguments and defaults.</summary>
    public AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 1e-2f, bool amsgrad = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad)
    {
    }

    private protected override bool Decoupled => true;
}
