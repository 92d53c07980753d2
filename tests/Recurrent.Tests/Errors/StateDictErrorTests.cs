using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

public sealed class StateDictErrorTests
{
    [Fact]
    public void LoadStateDict_MissingUnexpectedAndMismatched_NamesEachAndChangesNothing()
    {
        var gru = new Gru(3, 4, seed: 1);
        OrderedDictionary<string, Tensor<float>> before = gru.StateDict();
        var state = new Dictionary<string, Tensor<float>>
        {
            ["weight_ih_l0"] = T.Random(2, 1f, 12, 3),
            ["weight_hh_l0"] = T.Random(3, 1f, 12, 5),
            ["bias_ih_l0"] = T.Random(4, 1f, 12),
            ["bias_hh_l0_typo"] = T.Random(5, 1f, 12),
        };

        new Action(() => gru.LoadStateDict(state)).Should().Throw<ArgumentException>()
            .WithMessage("Error(s) in loading state_dict for GRU:*Missing key(s) in state_dict: \"bias_hh_l0\".*" +
                         "Unexpected key(s) in state_dict: \"bias_hh_l0_typo\".*" +
                         "size mismatch for weight_hh_l0: copying a param with shape [12, 5] from checkpoint, the shape in current model is [12, 4].*");
        AssertUnchanged(gru, before);
    }

    [Fact]
    public void LoadStateDict_ShapeMismatch_ThrowsEvenWhenNotStrict()
    {
        var lstm = new Lstm(3, 4, seed: 1);
        OrderedDictionary<string, Tensor<float>> before = lstm.StateDict();
        OrderedDictionary<string, Tensor<float>> state = new Lstm(3, 4, seed: 2).StateDict();
        state["bias_hh_l0"] = T.Zeros(4, 4);
        new Action(() => lstm.LoadStateDict(state, strict: false)).Should().Throw<ArgumentException>()
            .WithMessage("*size mismatch for bias_hh_l0: copying a param with shape [4, 4] from checkpoint, the shape in current model is [16].*");
        AssertUnchanged(lstm, before);
    }

    [Fact]
    public void LoadStateDict_NotStrict_LoadsWhatMatchesAndReportsTheRest()
    {
        var rnn = new Rnn(3, 4, seed: 1);
        OrderedDictionary<string, Tensor<float>> source = new Rnn(3, 4, seed: 2).StateDict();
        source.Remove("bias_hh_l0");
        source.Add("extra", T.Zeros(1));
        float[] biasBefore = T.Values(rnn.StateDict()["bias_hh_l0"]);

        LoadStateDictResult result = rnn.LoadStateDict(source, strict: false);

        result.MissingKeys.Should().Equal("bias_hh_l0");
        result.UnexpectedKeys.Should().Equal("extra");
        T.Values(rnn.StateDict()["weight_ih_l0"]).Should().Equal(T.Values(source["weight_ih_l0"]));
        T.Values(rnn.StateDict()["bias_hh_l0"]).Should().Equal(biasBefore);
    }

    [Fact]
    public void LoadStateDict_Null_ThrowsArgumentNull() =>
        new Action(() => new Embedding(2, 2).LoadStateDict(null!)).Should().Throw<ArgumentNullException>();

    private static void AssertUnchanged(Module module, OrderedDictionary<string, Tensor<float>> before)
    {
        foreach (KeyValuePair<string, Tensor<float>> p in module.StateDict())
        {
            T.Values(p.Value).Should().Equal(T.Values(before[p.Key]), $"{p.Key} must be untouched by a failed load");
        }
    }
}
