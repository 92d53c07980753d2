namespace Recurrent;

/// <summary>Where <see cref="RnnUtils.PadSequence"/> puts the padding of a shorter sequence.</summary>
public enum PaddingSide
{
    /// <summary>Sequences start at step 0 and padding follows them (PyTorch's default).</summary>
    Right,

    /// <summary>Sequences end at the last step and padding precedes them.</summary>
    Left,
}
