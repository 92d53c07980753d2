using System;

namespace Recurrent.Kernels;

/// <summary>
/// The weights of one (layer, direction), packed once for the fused kernels (BLIS-style B panels).
/// Hidden units are grouped in panels of <see cref="Unit"/>; panel p holds, for every k, the 16 units' rows of each gate
/// side by side: <c>packed[p][k][g*16 + u] = W[g*H + p*16 + u, k]</c> (zero past H). A tile of the step GEMM thus holds
/// every gate of the same 16 hidden units, and the gate math runs on it while it is still in L1.
/// Biases are pre-summed: <c>b_ih + b_hh</c> for every gate except GRU's n, whose <c>b_hn</c> stays on the recurrent side
/// because r multiplies <c>W_hn h + b_hn</c>.
/// </summary>
internal sealed class PackedLayer
{
    public const int Unit = 16;

    public PackedLayer(CellKind kind, int inputSize, int hidden, int hiddenIn, LayerWeights w)
    {
        Kind = kind;
        Gates = kind.GateCount();
        InputSize = inputSize;
        Hidden = hidden;
        HiddenIn = hiddenIn;
        Panels = (hidden + Unit - 1) / Unit;
        PanelWidth = Gates * Unit;
        WeightIH = Pack(w.WeightIH, Gates, hidden, inputSize);
        WeightHH = Pack(w.WeightHH, Gates, hidden, hiddenIn);
        Bias = new float[Panels * PanelWidth];
        for (int g = 0; g < Gates; g++)
        {
            bool hnStaysApart = kind == CellKind.Gru && g == 2;
            for (int j = 0; j < hidden; j++)
            {
                float b = (w.BiasIH?[(g * hidden) + j] ?? 0f) + (hnStaysApart ? 0f : w.BiasHH?[(g * hidden) + j] ?? 0f);
                Bias[PackedColumn(g, j)] = b;
            }
        }

        if (kind == CellKind.Gru)
        {
            BiasHN = new float[Panels * Unit];
            if (w.BiasHH is not null)
            {
                Array.Copy(w.BiasHH, 2 * hidden, BiasHN, 0, hidden);
            }
        }

        if (w.WeightHR is not null)
        {
            ProjSize = hiddenIn;
            ProjPanels = (hiddenIn + Unit - 1) / Unit;
            WeightHR = Pack(w.WeightHR, 1, hiddenIn, hidden);
        }
    }

    public CellKind Kind { get; }

    public int Gates { get; }

    public int InputSize { get; }

    /// <summary>H: units per gate (the cell width).</summary>
    public int Hidden { get; }

    /// <summary>K of the recurrent product: H_out (proj_size when projecting).</summary>
    public int HiddenIn { get; }

    public int Panels { get; }

    /// <summary>Floats per k in one panel: gates × 16.</summary>
    public int PanelWidth { get; }

    /// <summary>Width of a packed gate row: panels × gates × 16.</summary>
    public int PackedGateSize => Panels * PanelWidth;

    public float[] WeightIH { get; }

    public float[] WeightHH { get; }

    /// <summary>Pre-summed biases in packed column order.</summary>
    public float[] Bias { get; }

    /// <summary>GRU only: <c>b_hn</c>, padded to panels × 16.</summary>
    public float[]? BiasHN { get; }

    public float[]? WeightHR { get; }

    public int ProjSize { get; }

    public int ProjPanels { get; }

    /// <summary>The packed column of gate <paramref name="gate"/>, unit <paramref name="unit"/>.</summary>
    public static int PackedColumn(int gate, int unit, int gates) => ((unit / Unit) * gates * Unit) + (gate * Unit) + (unit % Unit);

    public int PackedColumn(int gate, int unit) => PackedColumn(gate, unit, Gates);

    /// <summary>Packs row-major <c>W[gates*units, k]</c> into panels of 16 units: <c>[panel][k][gate*16 + u]</c>.</summary>
    public static float[] Pack(float[] w, int gates, int units, int k)
    {
        int panels = (units + Unit - 1) / Unit;
        int width = gates * Unit;
        var packed = new float[panels * k * width];
        for (int g = 0; g < gates; g++)
        {
            for (int j = 0; j < units; j++)
            {
                int p = j / Unit, u = j % Unit;
                int row = ((g * units) + j) * k;
                int baseIndex = (p * k * width) + (g * Unit) + u;
                for (int kk = 0; kk < k; kk++)
                {
                    packed[baseIndex + (kk * width)] = w[row + kk];
                }
            }
        }

        return packed;
    }
}
