namespace Recurrent;

/// <summary>One tensor in a <see cref="ModelSummary"/>: what it is, its shape and what each dimension means.</summary>
/// <param name="Module">The module that gives it (its PyTorch repr), or empty for the chain's input.</param>
/// <param name="Name">What the tensor is: <c>input</c>, <c>output</c>, <c>h_n</c>, <c>c_n</c>, <c>h'</c> or <c>c'</c>.</param>
/// <param name="Shape">Its lengths.</param>
/// <param name="Dimensions">Each dimension named with its size, e.g. <c>(N=100, L=5, H_out=128)</c>.</param>
/// <param name="Parameters">The module's parameter count on its output row, otherwise 0.</param>
public sealed record SummaryRow(string Module, string Name, int[] Shape, string Dimensions, long Parameters);
