using System;
using FluentAssertions;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests.Training;

/// <summary>The recorded forwards of a module: newest first, memory reused, bounded when no Backward comes.</summary>
public sealed class TrainingMemoryTests
{
    [Fact]
    public void Pop_ReturnsTheNewestRecordFirst_AndReusesItsMemory()
    {
        var memory = new TrainingMemory<string>();
        TrainingScratch a = memory.Rent(), b = memory.Rent();
        a.Get(TrainingArray.TapeInput, 0, 10, clear: false);
        memory.Push("first", a);
        memory.Push("second", b);
        memory.Peek("M").Should().Be("second");
        (string record, TrainingScratch held) = memory.Pop("M");
        record.Should().Be("second");
        held.Should().BeSameAs(b);
        memory.Return(held);
        memory.Rent().Should().BeSameAs(b, "a consumed record's memory serves the next forward");
        memory.Pop("M").Record.Should().Be("first");
        new Action(() => memory.Pop("M")).Should().Throw<InvalidOperationException>().WithMessage("M.Backward needs a Forward*");
    }

    [Fact]
    public void Push_PastMaxPending_DropsTheOldest_AndSaysSo()
    {
        var memory = new TrainingMemory<object>();
        object newest = new();
        for (int i = 0; i < TrainingMemory<object>.MaxPending + 10; i++)
        {
            memory.Push(i == TrainingMemory<object>.MaxPending + 9 ? newest : new object(), memory.Rent());
        }

        memory.Count.Should().Be(TrainingMemory<object>.MaxPending);
        memory.Pop("M").Record.Should().BeSameAs(newest);
        for (int i = 1; i < TrainingMemory<object>.MaxPending; i++)
        {
            memory.Pop("M");
        }

        new Action(() => memory.Pop("M")).Should().Throw<InvalidOperationException>().WithMessage("*10 older record(s) were dropped*");
    }

    [Fact]
    public void Push_PastTheBudget_KeepsTheNewestWithinIt()
    {
        var memory = new TrainingMemory<string>();
        int quarter = (int)(TrainingMemory<string>.BudgetFloats / 4);
        for (int i = 0; i < 5; i++)
        {
            TrainingScratch scratch = memory.Rent();
            scratch.Get(TrainingArray.TapeInput, 0, quarter, clear: false);
            memory.Push("record " + i, scratch);
            memory.HeldFloats.Should().BeLessThanOrEqualTo(TrainingMemory<string>.BudgetFloats);
        }

        memory.Count.Should().Be(4);
        memory.Pop("M").Record.Should().Be("record 4");

        // A single record larger than the budget is still kept: the newest is never dropped.
        var large = new TrainingMemory<string>();
        TrainingScratch big = large.Rent();
        big.Get(TrainingArray.TapeInput, 0, quarter * 5, clear: false);
        large.Push("big", big);
        large.Pop("M").Record.Should().Be("big");
    }
}
