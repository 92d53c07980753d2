using System.Globalization;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Golden;

/// <summary>Every fixture PyTorch wrote, one theory row each.</summary>
public sealed class GoldenTests(ITestOutputHelper output)
{
    public static TheoryData<string> LstmCases => Fixture.Names("lstm");

    public static TheoryData<string> GruCases => Fixture.Names("gru");

    public static TheoryData<string> RnnCases => Fixture.Names("rnn");

    public static TheoryData<string> CellCases => Fixture.Names("cells");

    public static TheoryData<string> EmbeddingCases => Fixture.Names("embedding");

    public static TheoryData<string> PackedCases => Fixture.Names("packed");

    public static TheoryData<string> UtilityCases => Fixture.Names("utils");

    [Theory]
    [MemberData(nameof(LstmCases))]
    public void Lstm_Forward_MatchesPyTorch(string name) => GoldenCases.Lstm(name);

    [Theory]
    [MemberData(nameof(GruCases))]
    public void Gru_Forward_MatchesPyTorch(string name) => GoldenCases.Gru(name);

    [Theory]
    [MemberData(nameof(RnnCases))]
    public void Rnn_Forward_MatchesPyTorch(string name) => GoldenCases.Rnn(name);

    [Theory]
    [MemberData(nameof(CellCases))]
    public void Cell_Forward_MatchesPyTorch(string name) => GoldenCases.Cell(name);

    [Theory]
    [MemberData(nameof(EmbeddingCases))]
    public void Embedding_Forward_MatchesPyTorch(string name) => GoldenCases.Embedding(name);

    [Theory]
    [MemberData(nameof(PackedCases))]
    public void Packed_Forward_MatchesPyTorch(string name) => GoldenCases.Packed(name);

    [Theory]
    [MemberData(nameof(UtilityCases))]
    public void RnnUtils_MatchPyTorch(string name) => PackedUtilityCases.Run(name);

    [Fact]
    public void Fixtures_CoverEveryModule()
    {
        LstmCases.Should().HaveCountGreaterThan(25);
        GruCases.Should().HaveCountGreaterThan(20);
        RnnCases.Should().HaveCountGreaterThan(25);
        CellCases.Should().HaveCountGreaterThan(25);
        EmbeddingCases.Should().HaveCountGreaterThan(10);
        PackedCases.Should().HaveCountGreaterThan(30);
        UtilityCases.Should().HaveCountGreaterThan(6);
    }

    /// <summary>The figure the README quotes: the worst error over every fixture.</summary>
    [Fact]
    public void AllFixtures_WorstError_IsWithinTolerance()
    {
        double worst = 0;
        string worstCase = "";
        foreach (string kind in new[] { "lstm", "gru", "rnn", "cells", "embedding", "packed", "utils" })
        {
            foreach (string name in Fixture.NameList(kind))
            {
                double error = GoldenCases.Run(kind, name);
                if (error > worst)
                {
                    worst = error;
                    worstCase = kind + "/" + name;
                }
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst max abs error against PyTorch 1.13.1: {worst:G3} ({worstCase})"));
        worst.Should().BeLessThanOrEqualTo(TensorAssert.PyTorchTolerance);
    }
}
