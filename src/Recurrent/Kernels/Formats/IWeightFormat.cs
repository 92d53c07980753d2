using System;

namespace Recurrent.Kernels.Formats;

/// <summary>
/// How a <see cref="PackedMatrix{TFormat}"/> stores its weights: a type argument of the packed matrix and of the block
/// loop (<see cref="DenseGemm"/>), which asks the format for each row block's product (<see cref="Multiply"/>). The
/// formats that widen to float32 in registers (float32 itself, bfloat16) share <see cref="PanelKernels"/>, which differ
/// only in <see cref="Load"/>; a format with arithmetic of its own (int8: u8 × s8 products accumulated in int32, then
/// rescaled) brings its own micro-kernel and panel layout. Either way a new format is one file, not a branch.
/// </summary>
internal interface IWeightFormat
{
    /// <summary>Bytes per stored weight.</summary>
    public static abstract int ElementSize { get; }

    /// <summary>
    /// Bytes of one panel of <paramref name="k"/> rows of <paramref name="width"/> weights. The formats here store just the
    /// weights (k · width · <see cref="ElementSize"/>), which is what <see cref="PackedMatrix{TFormat}.Fill"/> and
    /// <see cref="PackedMatrix{TFormat}.GateInterleaved"/> write through <see cref="Write"/>; a format with per-panel data
    /// (int8's scales) makes the panel larger and packs it itself.
    /// </summary>
    public static abstract long PanelBytes(int k, int width);

    /// <summary>
    /// <c>tile (+)= A · panel[k0 .. k0 + kb)</c> for up to 4 rows of A (A already at column k0), the panel given by its
    /// first byte (<see cref="PackedMatrix{TFormat}.Panel"/>). Every element is one sequential chain over k.
    /// </summary>
    public static abstract void Multiply(ref float a, nint lda, int rows, ref byte panel, int k0, int kb, int width, ref float tile, nint ldc, bool accumulate);

    /// <summary><c>TS.Count</c> weights from element <paramref name="index"/> of a panel, as float32.</summary>
    public static abstract TV Load<TS, TV>(ref byte panel, nuint index)
        where TS : struct, ISimd<TV>
        where TV : struct;

    /// <summary>One weight as float32 (the scalar tier).</summary>
    public static abstract float LoadScalar(ref byte panel, nint index);

    /// <summary>Stores <paramref name="value"/> as element <paramref name="index"/> of <paramref name="data"/>, rounded to the format.</summary>
    public static abstract void Write(ref byte data, nint index, float value);

    /// <summary>
    /// Whether <see cref="Multiply"/> reads rows of A quantized by <see cref="QuantizeRows"/> (int8) rather than float32.
    /// Such a format also packs and reads its panels whole (<see cref="PackPanel"/>, <see cref="UnpackPanel"/>: per-column
    /// scales), and multiplies a panel in one pass (<see cref="KBlock"/>).
    /// </summary>
    public static virtual bool QuantizesActivations => false;

    /// <summary>The K-block of a panel <paramref name="width"/> wide (the blocked loops split K into these).</summary>
    public static virtual int KBlock(int width) => PanelKernels.KBlock(width);

    /// <summary>4-byte slots of one row of <paramref name="k"/> values as <see cref="Multiply"/> reads it.</summary>
    public static virtual int RowSlots(int k) => k;

    /// <summary>Quantizes rows of A into rows of <paramref name="ldq"/> slots (formats that <see cref="QuantizesActivations"/>).</summary>
    public static virtual void QuantizeRows(ref float a, nint lda, int rows, int k, ref float q, nint ldq) =>
        throw new NotSupportedException("this format multiplies float32 rows");

    /// <summary>
    /// Packs one panel from its float32 values <c>(k, width)</c> row-major, with per-column <paramref name="scales"/>
    /// (NaN: derive from the values); formats that <see cref="QuantizesActivations"/>.
    /// </summary>
    public static virtual void PackPanel(ReadOnlySpan<float> values, int k, int width, ReadOnlySpan<float> scales, ref byte panel) =>
        throw new NotSupportedException("this format is packed element by element (Write)");

    /// <summary>The inverse of <see cref="PackPanel"/>: the values as float32 and the columns' scales.</summary>
    public static virtual void UnpackPanel(ref byte panel, int k, int width, Span<float> values, Span<float> scales) =>
        throw new NotSupportedException("this format is read element by element (LoadScalar)");
}
