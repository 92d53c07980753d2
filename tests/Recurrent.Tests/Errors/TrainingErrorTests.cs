using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Optim;
using Recurrent.Tests.TestUtilities;
using Xunit;

namespace Recurrent.Tests.Errors;

/// <summary>Bad input to the training and checkpoint helpers is refused with what was expected and what was given.</summary>
public sealed class TrainingErrorTests
{
    [Fact]
    public void Grad_OfAnotherShape_IsRefused_SoAnOptimizerNeverReadsPastIt()
    {
        var lstm = new Lstm(3, 5, seed: 1);
        Parameter w = lstm.NamedParameters().First(p => p.Name == "weight_ih_l0").Parameter;
        new Action(() => w.Grad = T.Zeros(3)).Should().Throw<ArgumentException>()
            .WithMessage("assigned grad has data of a different size: the parameter is [20, 3], the gradient [3]*");
        w.Grad.Should().BeNull("a refused gradient is not kept");

        w.Grad = T.Zeros(20, 3);
        float[] before = T.Values(w.Data);
        new Sgd(lstm.Parameters(), lr: 0.1f).Step();
        T.Values(w.Data).Should().Equal(before, "a zero gradient of the right shape changes nothing");
    }

    [Fact]
    public void SaveStateDict_WithADuplicateName_IsRefused_BeforeWritingAnything()
    {
        var state = new List<KeyValuePair<string, Tensor<float>>>
        {
            new("a", T.Zeros(2)),
            new("a", T.Zeros(3)),
        };
        using var stream = new MemoryStream();
        new Action(() => StateDict.Save(stream, state)).Should().Throw<ArgumentException>()
            .WithMessage("the tensor name 'a' appears twice; a safetensors file names each tensor once*");
        stream.Length.Should().Be(0);
    }

    [Fact]
    public void CrossEntropy_OnLogitsWithNoClasses_SaysSo()
    {
        Tensor<float> logits = Tensor.Create(Array.Empty<float>(), [2, 0]);
        new Action(() => Loss.CrossEntropy(logits, new[] { 0, 0 })).Should().Throw<ArgumentException>()
            .WithMessage("Target 0 is out of bounds: the logits have no classes.*");
    }
}
