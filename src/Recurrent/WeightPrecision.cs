namespace Recurrent;

/// <summary>How a module stores the weights its forward reads.</summary>
public enum WeightPrecision
{
    /// <summary>float32, as trained: the modules' own precision.</summary>
    Float32,

    /// <summary>
    /// bfloat16 (float32's high 16 bits, rounded to nearest even): half the bytes, widened to float32 exactly in
    /// registers and accumulated in float32, so the only error is the rounding of each weight (a relative 2⁻⁹ at most).
    /// </summary>
    BFloat16,
}
