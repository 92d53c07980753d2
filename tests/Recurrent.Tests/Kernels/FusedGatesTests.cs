using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FluentAssertions;
using Recurrent.Kernels;
using Recurrent.Kernels.Cells;
using Recurrent.Kernels.Reference;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>The fused gate pass on a packed tile, every tier and every partial panel width, against the scalar reference.</summary>
public sealed class FusedGatesTests
{
    private const float Canary = -777f;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string tier in Tiers.All())
        {
            foreach (CellKind kind in Enum.GetValues<CellKind>())
            {
                data.Add(tier, kind.ToString());
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Apply_MatchesReference(string tier, string cell)
    {
        CellKind kind = Enum.Parse<CellKind>(cell);
        var random = new Random(((int)kind * 10) + tier.Length);
        int gates = kind.GateCount();
        int U = kind.Traits().Unit;
        int width = gates * U;
        for (int valid = 0; valid <= U; valid++)
        {
            for (int rows = 1; rows <= 4; rows++)
            {
                float[] tile = Tiers.Fill(random, rows * width, 40f);
                int ldig = width + 3;
                float[] ig = Tiers.Fill(random, rows * ldig, 40f);
                float[] bhn = Tiers.Fill(random, U, 1f);
                int ldc = U + 2, ldhp = U + 1, ldh = U + 4;
                float[] c = Tiers.Fill(random, rows * ldc, 3f);
                float[] hPrev = Tiers.Fill(random, rows * ldhp, 2f);
                float[] h = new float[rows * ldh];
                h.AsSpan().Fill(Canary);

                // The reference's unpacked layout: hgates/igates (rows, gates*valid), states (rows, valid).
                float[] hg = new float[rows * gates * valid], xg = new float[rows * gates * valid];
                float[] cRef = new float[rows * valid], hRef = new float[rows * valid];
                for (int r = 0; r < rows; r++)
                {
                    for (int g = 0; g < gates; g++)
                    {
                        for (int j = 0; j < valid; j++)
                        {
                            int at = (r * gates * valid) + (g * valid) + j;
                            hg[at] = tile[(r * width) + (g * U) + j] + (kind == CellKind.Gru && g == 2 ? bhn[j] : 0f);
                            xg[at] = ig[(r * ldig) + (g * U) + j];
                        }
                    }

                    for (int j = 0; j < valid; j++)
                    {
                        cRef[(r * valid) + j] = c[(r * ldc) + j];
                        hRef[(r * valid) + j] = hPrev[(r * ldhp) + j];
                    }
                }

                switch (kind)
                {
                    case CellKind.Lstm:
                        ReferenceKernels.Lstm(hg, xg, cRef, hRef, rows, valid);
                        break;
                    case CellKind.Gru:
                        ReferenceKernels.Gru(hg, xg, hRef, rows, valid);
                        break;
                    default:
                        ReferenceKernels.Rnn(hg, xg, hRef, rows, valid, kind == CellKind.RnnRelu);
                        break;
                }

                Run(tier, kind, U, tile, rows, ig, ldig, bhn, c, ldc, hPrev, ldhp, h, ldh, valid);

                for (int r = 0; r < rows; r++)
                {
                    string what = $"{tier} {kind} valid={valid} rows={rows} row {r}";
                    TensorAssert.Close(hRef.AsSpan(r * valid, valid), h.AsSpan(r * ldh, valid), 1e-6f, what + " h'");
                    h.AsSpan((r * ldh) + valid, ldh - valid).ToArray().Should().OnlyContain(x => x == Canary, what + ": nothing past the valid units");
                    if (kind == CellKind.Lstm)
                    {
                        TensorAssert.Close(cRef.AsSpan(r * valid, valid), c.AsSpan(r * ldc, valid), 1e-6f, what + " c'");
                    }
                }
            }
        }
    }

    private static void Run(string tier, CellKind kind, int unit, float[] tile, int rows, float[] ig, int ldig, float[] bhn, float[] c, int ldc, float[] hPrev, int ldhp, float[] h, int ldh, int valid)
    {
        var at = new GateTile(
            rows,
            unit,
            valid,
            ref MemoryMarshal.GetArrayDataReference(tile),
            kind.GateCount() * unit,
            ref MemoryMarshal.GetArrayDataReference(ig),
            ldig,
            ref MemoryMarshal.GetArrayDataReference(bhn),
            ref MemoryMarshal.GetArrayDataReference(c),
            ldc,
            ref MemoryMarshal.GetArrayDataReference(hPrev),
            ldhp,
            ref MemoryMarshal.GetArrayDataReference(h),
            ldh);
        switch (kind)
        {
            case CellKind.Lstm:
                Run<LstmGates>(tier, at);
                break;
            case CellKind.Gru:
                Run<GruGates>(tier, at);
                break;
            case CellKind.RnnTanh:
                Run<TanhGates>(tier, at);
                break;
            default:
                Run<ReluGates>(tier, at);
                break;
        }
    }

    private static void Run<TCell>(string tier, in GateTile tile)
        where TCell : ICell
    {
        switch (tier)
        {
            case "scalar":
                FusedGates.ApplyScalar<TCell>(tile, record: false);
                break;
            case "128":
                FusedGates.Apply<TCell, Simd128, Vector128<float>>(tile, record: false);
                break;
            case "256":
                FusedGates.Apply<TCell, Simd256, Vector256<float>>(tile, record: false);
                break;
            default:
                FusedGates.Apply<TCell, Simd512, Vector512<float>>(tile, record: false);
                break;
        }
    }
}
