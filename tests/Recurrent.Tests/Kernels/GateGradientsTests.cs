using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FluentAssertions;
using Recurrent.Kernels;
using Recurrent.Kernels.Cells;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The backward step's pointwise pass, every tier and every width up to three vectors past the widest, against the chain
/// rule written out in double precision from the gates' values.
/// </summary>
public sealed class GateGradientsTests
{
    public static TheoryData<string, string> Cases() => FusedGatesTests.Cases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Apply_MatchesTheChainRule(string tier, string cell)
    {
        CellKind kind = Enum.Parse<CellKind>(cell);
        var random = new Random(((int)kind * 7) + tier.Length);
        int gateCount = kind.GateCount();
        for (int hidden = 1; hidden <= 52; hidden++)
        {
            // Activated gates in their ranges: σ gates in (0, 1), tanh gates and RNN h in (-1, 1), relu h ≥ 0 with zeros.
            float[] gates = new float[gateCount * hidden];
            for (int g = 0; g < gateCount; g++)
            {
                bool tanhGate = kind == CellKind.Lstm ? g == 2 : kind == CellKind.Gru ? g == 2 : kind == CellKind.RnnTanh;
                for (int j = 0; j < hidden; j++)
                {
                    double u = random.NextDouble();
                    gates[(g * hidden) + j] = kind == CellKind.RnnRelu ? (u < 0.3 ? 0f : (float)(u * 3)) : tanhGate ? (float)((2 * u) - 1) : (float)u;
                }
            }

            float[] dh = Tiers.Fill(random, hidden, 2f);
            float[] aux = Tiers.Fill(random, hidden, 3f);
            float[] prev = Tiers.Fill(random, hidden, 3f);
            float[] dc = Tiers.Fill(random, hidden, 1f);
            float[] dcIn = (float[])dc.Clone();
            float[] dGi = new float[gateCount * hidden], dGh = new float[gateCount * hidden];
            Run(tier, kind, hidden, gates, dh, aux, prev, dc, dGi, dGh);

            double[] wantGi = new double[gateCount * hidden], wantGh = new double[gateCount * hidden], wantDc = new double[hidden];
            for (int j = 0; j < hidden; j++)
            {
                double G(int g) => gates[(g * hidden) + j];
                double d = dh[j];
                switch (kind)
                {
                    case CellKind.Lstm:
                        {
                            // h = o·tanh(c), c = f·c_prev + i·g.
                            double tc = Math.Tanh(aux[j]);
                            double dcTotal = dcIn[j] + (d * G(3) * (1 - (tc * tc)));
                            wantGi[j] = dcTotal * G(2) * G(0) * (1 - G(0));
                            wantGi[hidden + j] = dcTotal * prev[j] * G(1) * (1 - G(1));
                            wantGi[(2 * hidden) + j] = dcTotal * G(0) * (1 - (G(2) * G(2)));
                            wantGi[(3 * hidden) + j] = d * tc * G(3) * (1 - G(3));
                            wantDc[j] = dcTotal * G(1);
                            break;
                        }

                    case CellKind.Gru:
                        {
                            // h = (1 - z)·n + z·h_prev, n = tanh(x_n + r·hn).
                            double dn = d * (1 - G(1)) * (1 - (G(2) * G(2)));
                            wantGi[j] = wantGh[j] = dn * aux[j] * G(0) * (1 - G(0));
                            wantGi[hidden + j] = wantGh[hidden + j] = d * (prev[j] - G(2)) * G(1) * (1 - G(1));
                            wantGi[(2 * hidden) + j] = dn;
                            wantGh[(2 * hidden) + j] = dn * G(0);
                            wantDc[j] = d * G(1);
                            break;
                        }

                    case CellKind.RnnTanh:
                        wantGi[j] = d * (1 - (G(0) * G(0)));
                        break;

                    default:
                        wantGi[j] = G(0) > 0 ? d : 0;
                        break;
                }
            }

            string what = $"{tier} {kind} H={hidden}";

            // A worker's share: the first units only, gate blocks still H apart; the last unit of every block is left alone.
            if (hidden > 1)
            {
                float[] partGi = new float[gateCount * hidden], partGh = new float[gateCount * hidden], partDc = (float[])dcIn.Clone();
                RunUnits(tier, kind, hidden - 1, hidden, gates, dh, aux, prev, partDc, partGi, partGh);
                for (int g = 0; g < gateCount; g++)
                {
                    TensorAssert.Close(dGi.AsSpan(g * hidden, hidden - 1), partGi.AsSpan(g * hidden, hidden - 1), 1e-6f, what + " share");
                    partGi[(g * hidden) + hidden - 1].Should().Be(0f, what + ": a unit past the share is not written");
                }

                partDc[hidden - 1].Should().Be(dcIn[hidden - 1], what + ": a unit past the share keeps its state gradient");
            }

            TensorAssert.Close(Array.ConvertAll(wantGi, v => (float)v), dGi, 2e-6f, what + " input-side gate gradients");
            if (kind == CellKind.Gru)
            {
                TensorAssert.Close(Array.ConvertAll(wantGh, v => (float)v), dGh, 2e-6f, what + " hidden-side gate gradients");
            }

            if (kind is CellKind.Lstm or CellKind.Gru)
            {
                TensorAssert.Close(Array.ConvertAll(wantDc, v => (float)v), dc, 2e-6f, what + (kind == CellKind.Lstm ? " dc_prev" : " dh·z"));
            }
            else
            {
                dc.Should().Equal(dcIn, what + ": an RNN has no cell state to touch");
            }
        }
    }

    private static void Run(string tier, CellKind kind, int hidden, float[] gates, float[] dh, float[] aux, float[] prev, float[] dc, float[] dGi, float[] dGh) =>
        RunUnits(tier, kind, hidden, hidden, gates, dh, aux, prev, dc, dGi, dGh);

    private static void RunUnits(string tier, CellKind kind, int units, int hidden, float[] gates, float[] dh, float[] aux, float[] prev, float[] dc, float[] dGi, float[] dGh)
    {
        var row = new GradientRow(
            ref MemoryMarshal.GetArrayDataReference(gates),
            ref MemoryMarshal.GetArrayDataReference(dh),
            ref MemoryMarshal.GetArrayDataReference(aux),
            ref MemoryMarshal.GetArrayDataReference(prev),
            ref MemoryMarshal.GetArrayDataReference(dc),
            ref MemoryMarshal.GetArrayDataReference(dGi),
            ref MemoryMarshal.GetArrayDataReference(dGh));
        switch (kind)
        {
            case CellKind.Lstm:
                RunUnits<LstmGates>(tier, units, hidden, row);
                break;
            case CellKind.Gru:
                RunUnits<GruGates>(tier, units, hidden, row);
                break;
            case CellKind.RnnTanh:
                RunUnits<TanhGates>(tier, units, hidden, row);
                break;
            default:
                RunUnits<ReluGates>(tier, units, hidden, row);
                break;
        }
    }

    private static void RunUnits<TCell>(string tier, int units, int hidden, in GradientRow row)
        where TCell : ICell
    {
        switch (tier)
        {
            case "scalar":
                GateGradients.ApplyScalar<TCell>(units, hidden, row);
                break;
            case "128":
                GateGradients.Apply<TCell, Simd128, Vector128<float>>(units, hidden, row);
                break;
            case "256":
                GateGradients.Apply<TCell, Simd256, Vector256<float>>(units, hidden, row);
                break;
            default:
                GateGradients.Apply<TCell, Simd512, Vector512<float>>(units, hidden, row);
                break;
        }
    }
}
