using System;
using Recurrent.Internals;

namespace Recurrent;

/// <summary>
/// Budgets for <see cref="StateDict.Load(string, StateDictLoadOptions?)"/>. A file past one is refused with an
/// <see cref="System.IO.InvalidDataException"/> that names it, so a small hostile file cannot make the loader spend
/// gigabytes or minutes. The defaults pass every checkpoint <c>torch.save</c> writes for a state_dict.
/// </summary>
public sealed record StateDictLoadOptions
{
    private readonly long _maxExpandedElements = DefaultMaxExpandedElements;

    /// <summary>The default of <see cref="MaxExpandedElements"/>: 16,777,216 (64 MB of float32).</summary>
    public const long DefaultMaxExpandedElements = 16L << 20;

    /// <summary>The defaults.</summary>
    public static StateDictLoadOptions Default { get; } = new();

    /// <summary>
    /// How many elements the tensors that view more elements than their storage holds (stride 0, as <c>expand</c> makes)
    /// may build in all. A state_dict saves contiguous tensors, which never count; raise it to load a file of legitimate
    /// expanded views.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long MaxExpandedElements
    {
        get => _maxExpandedElements;
        init
        {
            if (value < 0)
            {
                ThrowHelper.OutOfRange(nameof(MaxExpandedElements), value, "the budget of expanded elements must be zero or greater");
            }

            _maxExpandedElements = value;
        }
    }
}
