using System;
using System.Threading;
using Recurrent.Kernels;
using Recurrent.Kernels.Cells;
using Recurrent.Kernels.Formats;

namespace Recurrent.Engine;

/// <summary>
/// The weights of one (layer, direction), packed once for the fused kernels: W_ihᵀ and W_hhᵀ as gate-interleaved
/// <see cref="PackedMatrix"/> panels of <see cref="Unit"/> (U) hidden units (<see cref="PackedMatrix.GateInterleaved"/>),
/// so a tile of the step GEMM holds every gate of the same U hidden units and the gate math runs on it while it is still
/// in L1. U is 16 for LSTM and 64 for GRU and RNN, so every panel is at least 64 floats wide: enough vectors for the wide
/// register blocks. W_hrᵀ (LSTM projection) is a plain 64-wide <see cref="PackedMatrix"/>.
/// Biases are pre-summed: <c>b_ih + b_hh</c> for every gate except GRU's n, whose <c>b_hn</c> stays on the recurrent side
/// because r multiplies <c>W_hn h + b_hn</c>.
/// The backward pass multiplies by the weights the other way round (W, not Wᵀ); <see cref="Backward"/> packs them so, as
/// float32 <see cref="PackedMatrix"/> panels, on this version's first Backward (inference never does).
/// </summary>
/// <typeparam name="TFormat">How the forward's weights are stored (<c>PackedLayer</c> alone is the float32 one, what the
/// modules run on); the backward's operands are float32 whatever it is, as training is.</typeparam>
internal sealed class PackedLayer<TFormat>
    where TFormat : struct, IWeightFormat
{
    private readonly LayerWeights? _source;
    private BackwardOperands? _backward;

    // The previous version's backward operands, refilled rather than reallocated on this version's first Backward (a
    // training loop makes a new PackedLayer at every optimizer step).
    private BackwardOperands? _recycled;

    /// <summary>Hidden units per panel of the LSTM projection (one gate: 64 floats wide).</summary>
    public const int ProjUnit = 64;

    /// <param name="kind">The cell.</param>
    /// <param name="inputSize">K of the input projection.</param>
    /// <param name="hidden">H, units per gate.</param>
    /// <param name="hiddenIn">K of the recurrent product (proj_size when projecting).</param>
    /// <param name="w">The weights, read now and (for <see cref="Backward"/>) on this version's first Backward.</param>
    /// <param name="previous">The version this one replaces: its backward operands' memory is taken over (it builds new ones if asked again).</param>
    /// <param name="inferenceOnly">Keep no reference to <paramref name="w"/> (a quantized module: its float weights can go); <see cref="Backward"/> then refuses.</param>
    public PackedLayer(CellKind kind, int inputSize, int hidden, int hiddenIn, LayerWeights w, PackedLayer<TFormat>? previous = null, bool inferenceOnly = false)
    {
        _source = inferenceOnly ? null : w;
        if (previous is not null)
        {
            _recycled = Interlocked.Exchange(ref previous._backward, null);
        }

        Kind = kind;
        CellTraits cell = kind.Traits();
        Gates = cell.Gates;
        Unit = cell.Unit;
        InputSize = inputSize;
        Hidden = hidden;
        HiddenIn = hiddenIn;
        Panels = PanelsFor(cell, hidden);
        PanelWidth = Gates * Unit;
        WeightIH = PackedMatrix<TFormat>.GateInterleaved(w.WeightIH, Gates, hidden, inputSize, Unit, channelScales: w.Scales?.IH);
        WeightHH = PackedMatrix<TFormat>.GateInterleaved(w.WeightHH, Gates, hidden, hiddenIn, Unit, channelScales: w.Scales?.HH);
        Bias = new float[Panels * PanelWidth];
        for (int g = 0; g < Gates; g++)
        {
            bool hnStaysApart = cell.KeepsHiddenGate && g == Gates - 1;
            for (int j = 0; j < hidden; j++)
            {
                float b = (w.BiasIH?[(g * hidden) + j] ?? 0f) + (hnStaysApart ? 0f : w.BiasHH?[(g * hidden) + j] ?? 0f);
                Bias[PackedColumn(g, j)] = b;
            }
        }

        if (cell.KeepsHiddenGate)
        {
            BiasHN = new float[Panels * Unit];
            if (w.BiasHH is not null)
            {
                Array.Copy(w.BiasHH, (Gates - 1) * hidden, BiasHN, 0, hidden);
            }
        }

        if (w.WeightHR is not null)
        {
            ProjSize = hiddenIn;
            ProjPanels = (hiddenIn + ProjUnit - 1) / ProjUnit;
            WeightHR = PackedMatrix<TFormat>.GateInterleaved(w.WeightHR, 1, hiddenIn, hidden, ProjUnit, storeUnitsOnly: true, channelScales: w.Scales?.HR);
        }
    }

    public CellKind Kind { get; }

    /// <summary>
    /// W_ih <c>(G·H, H_in)</c>, W_hh <c>(G·H, H_out)</c> and W_hr <c>(P, H)</c> packed as the right-hand operands of the
    /// backward's products (dX = dG·W_ih, dh = dG·W_hh, dh_full = dh·W_hr); built once per version of the weights (a
    /// parameter change makes a new PackedLayer, so no stamp is needed) and dropped by <see cref="ReleaseBackward"/>.
    /// </summary>
    public BackwardOperands Backward
    {
        get
        {
            BackwardOperands? packed = Volatile.Read(ref _backward);
            if (packed is null)
            {
                LayerWeights source = _source ?? throw new InvalidOperationException("an inference-only (quantized) layer has no backward pass");
                int g = Gates * Hidden;
                BackwardOperands? old = Interlocked.Exchange(ref _recycled, null);
                packed = new BackwardOperands(
                    Pack(old?.WeightIH, source.WeightIH, g, InputSize),
                    Pack(old?.WeightHH, source.WeightHH, g, HiddenIn),
                    source.WeightHR is { } whr ? Pack(old?.WeightHR, whr, HiddenIn, Hidden) : null);
                Volatile.Write(ref _backward, packed);
            }

            return packed;
        }
    }

    /// <summary>U: hidden units per panel.</summary>
    public int Unit { get; }

    public int Gates { get; }

    public int InputSize { get; }

    /// <summary>H: units per gate (the cell width).</summary>
    public int Hidden { get; }

    /// <summary>K of the recurrent product: H_out (proj_size when projecting).</summary>
    public int HiddenIn { get; }

    public int Panels { get; }

    /// <summary>Floats per k in one panel: gates × U.</summary>
    public int PanelWidth { get; }

    /// <summary>Width of a packed gate row: panels × gates × U.</summary>
    public int PackedGateSize => Panels * PanelWidth;

    public PackedMatrix<TFormat> WeightIH { get; }

    public PackedMatrix<TFormat> WeightHH { get; }

    /// <summary>Pre-summed biases in packed column order.</summary>
    public float[] Bias { get; }

    /// <summary>GRU only: <c>b_hn</c>, padded to panels × U.</summary>
    public float[]? BiasHN { get; }

    public PackedMatrix<TFormat>? WeightHR { get; }

    public int ProjSize { get; }

    public int ProjPanels { get; }

    /// <summary>Bytes of the forward's packed weights and biases (padding included).</summary>
    public long Bytes =>
        (WeightIH.Panels * WeightIH.PanelBytes) + (WeightHH.Panels * WeightHH.PanelBytes) + (WeightHR is null ? 0 : WeightHR.Panels * WeightHR.PanelBytes)
        + ((Bias.Length + (BiasHN?.Length ?? 0)) * sizeof(float));

    /// <summary>Lets the backward operands go (a module switched to inference); the next Backward packs them again.</summary>
    public void ReleaseBackward() => Volatile.Write(ref _backward, null);

    /// <summary>Panels that hold <paramref name="hidden"/> units: the last one padded with zero weights.</summary>
    public static int PanelsFor(CellTraits cell, int hidden) => (hidden + cell.Unit - 1) / cell.Unit;

    /// <summary>The packed column of gate <paramref name="gate"/>, hidden unit <paramref name="unit"/>.</summary>
    public int PackedColumn(int gate, int unit) => ((unit / Unit) * Gates * Unit) + (gate * Unit) + (unit % Unit);

    /// <summary><paramref name="w"/> <c>(k, n)</c> packed, into <paramref name="reuse"/> when it has that shape.</summary>
    private static PackedMatrix Pack(PackedMatrix? reuse, ReadOnlySpan<float> w, int k, int n)
    {
        PackedMatrix matrix = reuse is not null && reuse.K == k && reuse.N == n ? reuse : new PackedMatrix(k, n);
        matrix.Fill(w);
        return matrix;
    }

    /// <summary>The weights as the backward multiplies by them; <see cref="WeightHR"/> only with a projection.</summary>
    internal sealed record BackwardOperands(PackedMatrix WeightIH, PackedMatrix WeightHH, PackedMatrix? WeightHR);
}
