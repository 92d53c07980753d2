using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Kernels.Formats;

namespace Recurrent.Kernels;

/// <summary>
/// The one packed-weight format of the library: a right-hand matrix B <c>(K, N)</c> for <see cref="PanelKernels"/>, in
/// panels of <see cref="PanelWidth"/> columns, each panel <c>[k][width]</c> (BLIS-style B panels), zero past N. Every
/// product runs on it: the forward's input projection, recurrent step and projection (gate-interleaved columns, see
/// <see cref="GateInterleaved"/>), and every product of the backward (plain column order, <see cref="Fill"/>).
/// <typeparamref name="TFormat"/> is how each weight is stored (<see cref="Float32Weights"/>, the <c>PackedMatrix</c> of
/// the modules, or <see cref="BFloat16Weights"/>); the layout is the same for every format.
/// </summary>
internal sealed class PackedMatrix<TFormat>
    where TFormat : struct, IWeightFormat
{
    /// <summary>The panel width of plain matrices: 64 floats, enough vectors for the wide register blocks.</summary>
    public const int Width = 64;

    public PackedMatrix(int k, int n, int panelWidth = Width)
    {
        K = k;
        N = n;
        PanelWidth = panelWidth;
        Panels = (n + panelWidth - 1) / panelWidth;
        // Raw storage in 4-byte words, so a float32 matrix may hold as many weights as a float array (a byte array could
        // not hold 2 GB); narrower formats use a fraction of it.
        Elements = (long)Panels * k * panelWidth;
        PanelBytes = TFormat.PanelBytes(k, panelWidth);
        Data = new float[((Panels * PanelBytes) + sizeof(float) - 1) / sizeof(float)];
    }

    /// <summary>Rows of B (the products' inner dimension).</summary>
    public int K { get; }

    /// <summary>Columns of B that hold data; the last panel is zero past them.</summary>
    public int N { get; }

    /// <summary>Floats per k in one panel.</summary>
    public int PanelWidth { get; }

    public int Panels { get; }

    /// <summary>The stored weights as raw 4-byte words: <see cref="Elements"/> weights of <c>TFormat.ElementSize</c> bytes.</summary>
    public float[] Data { get; }

    /// <summary>Weights stored, padding included.</summary>
    public long Elements { get; }

    /// <summary>Bytes of one panel, as the format lays it out.</summary>
    public long PanelBytes { get; }

    /// <summary>The first stored weight of panel <paramref name="p"/>, for the kernels.</summary>
    public ref byte Panel(int p) =>
        ref Unsafe.Add(ref Unsafe.As<float, byte>(ref MemoryMarshal.GetArrayDataReference(Data)), (nint)(p * PanelBytes));

    /// <summary>Packs B, row-major <c>(K, N)</c>, over the previous contents (the padding columns are never written, so stay zero).</summary>
    public void Fill(ReadOnlySpan<float> b)
    {
        if (TFormat.QuantizesActivations)
        {
            // Whole panels (per-column scales derived from the values).
            float[] values = new float[K * PanelWidth], scales = new float[PanelWidth];
            for (int p = 0; p < Panels; p++)
            {
                int valid = Math.Min(PanelWidth, N - (p * PanelWidth));
                Array.Clear(values);
                Array.Fill(scales, float.NaN);
                for (int kk = 0; kk < K; kk++)
                {
                    b.Slice((kk * N) + (p * PanelWidth), valid).CopyTo(values.AsSpan(kk * PanelWidth, valid));
                }

                TFormat.PackPanel(values, K, PanelWidth, scales, ref Panel(p));
            }

            return;
        }

        for (int p = 0; p < Panels; p++)
        {
            int valid = Math.Min(PanelWidth, N - (p * PanelWidth));
            for (int kk = 0; kk < K; kk++)
            {
                ReadOnlySpan<float> row = b.Slice((kk * N) + (p * PanelWidth), valid);
                int at = ((p * K) + kk) * PanelWidth;
                if (typeof(TFormat) == typeof(Float32Weights))
                {
                    row.CopyTo(Data.AsSpan(at, valid));
                }
                else
                {
                    ref byte data = ref Panel(0);
                    for (int j = 0; j < valid; j++)
                    {
                        TFormat.Write(ref data, at + j, row[j]);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <c>Wᵀ</c> for a row-major <c>W[gates·units, k]</c> (PyTorch's stacked gate rows), its columns grouped so that panel p
    /// holds, for every k, the rows of units [p·unit, (p+1)·unit) of each gate side by side:
    /// <c>packed[p][k][g·unit + u] = W[g·units + p·unit + u, k]</c>, zero past <paramref name="units"/>. A tile of a product
    /// with it holds every gate of the same units, so the gate math can run on it in L1. N is the padded width (the gate
    /// buffers the products write are padded too), or <paramref name="units"/> with <paramref name="storeUnitsOnly"/>
    /// (one gate: a product then stores only the real columns).
    /// </summary>
    /// <param name="w"></param>
    /// <param name="gates"></param>
    /// <param name="units"></param>
    /// <param name="k"></param>
    /// <param name="unit"></param>
    /// <param name="storeUnitsOnly"></param>
    /// <param name="channelScales">A format with per-channel scales (int8): each row of W's scale, as saved; empty to derive them.</param>
    public static PackedMatrix<TFormat> GateInterleaved(ReadOnlySpan<float> w, int gates, int units, int k, int unit, bool storeUnitsOnly = false, ReadOnlySpan<float> channelScales = default)
    {
        int panels = (units + unit - 1) / unit;
        int width = gates * unit;
        var packed = new PackedMatrix<TFormat>(k, storeUnitsOnly ? units : panels * width, width);
        if (TFormat.QuantizesActivations)
        {
            float[] values = new float[k * width], scales = new float[width];
            for (int p = 0; p < panels; p++)
            {
                Array.Clear(values);
                Array.Fill(scales, float.NaN);
                for (int g = 0; g < gates; g++)
                {
                    for (int j = p * unit; j < Math.Min(units, (p + 1) * unit); j++)
                    {
                        int row = (g * units) + j, column = (g * unit) + (j % unit);
                        for (int kk = 0; kk < k; kk++)
                        {
                            values[(kk * width) + column] = w[(row * k) + kk];
                        }

                        if (!channelScales.IsEmpty)
                        {
                            scales[column] = channelScales[row];
                        }
                    }
                }

                TFormat.PackPanel(values, k, width, scales, ref packed.Panel(p));
            }

            return packed;
        }

        ref byte data = ref packed.Panel(0);
        for (int g = 0; g < gates; g++)
        {
            for (int j = 0; j < units; j++)
            {
                (int row, int baseIndex) = packed.GateRow(g, j, units, unit);
                for (int kk = 0; kk < k; kk++)
                {
                    TFormat.Write(ref data, baseIndex + (kk * width), w[row + kk]);
                }
            }
        }

        return packed;
    }

    /// <summary>
    /// The inverse of <see cref="GateInterleaved"/>: writes <c>W[gates·units, k]</c> row-major, each weight as float32, and
    /// for a format with per-channel scales each row's scale into <paramref name="channelScales"/> (when not empty).
    /// </summary>
    public void UnpackGateInterleaved(Span<float> w, int gates, int units, int unit, Span<float> channelScales = default)
    {
        int k = K, width = PanelWidth;
        if (TFormat.QuantizesActivations)
        {
            float[] values = new float[k * width], scales = new float[width];
            for (int p = 0; p < Panels; p++)
            {
                TFormat.UnpackPanel(ref Panel(p), k, width, values, scales);
                for (int g = 0; g < gates; g++)
                {
                    for (int j = p * unit; j < Math.Min(units, (p + 1) * unit); j++)
                    {
                        int row = (g * units) + j, column = (g * unit) + (j % unit);
                        for (int kk = 0; kk < k; kk++)
                        {
                            w[(row * k) + kk] = values[(kk * width) + column];
                        }

                        if (!channelScales.IsEmpty)
                        {
                            channelScales[row] = scales[column];
                        }
                    }
                }
            }

            return;
        }

        ref byte data = ref Panel(0);
        for (int g = 0; g < gates; g++)
        {
            for (int j = 0; j < units; j++)
            {
                (int row, int baseIndex) = GateRow(g, j, units, unit);
                for (int kk = 0; kk < k; kk++)
                {
                    w[row + kk] = TFormat.LoadScalar(ref data, baseIndex + (kk * width));
                }
            }
        }
    }

    /// <summary>Where unit <paramref name="j"/> of gate <paramref name="g"/> lives: its row in <c>W</c> (first element) and its packed index at k = 0.</summary>
    private (int Row, int PackedIndex) GateRow(int g, int j, int units, int unit) =>
        (((g * units) + j) * K, ((j / unit) * K * PanelWidth) + (g * unit) + (j % unit));
}
