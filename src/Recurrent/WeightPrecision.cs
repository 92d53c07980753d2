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

    /// <summary>
    /// int8, symmetric per output channel (each row of a weight matrix has its own float32 scale, max |w| / 127): a
    /// quarter of the bytes. Each step's inputs and h are quantized per row to 7 bits (asymmetric, their own scale and
    /// zero point, as PyTorch's x86 dynamic quantization does with <c>reduce_range</c>) and multiplied in exact int32
    /// arithmetic, then rescaled; the gate math stays float32. The error comes from both roundings: a few thousandths
    /// on unit-scale inputs, about 1e-2 at worst.
    /// </summary>
    Int8,
}
