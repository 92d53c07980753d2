using System;
using System.Numerics.Tensors;
using FluentAssertions;
using Recurrent.Tests.TestUtilities;

namespace Recurrent.Tests.Golden;

/// <summary>The torch.nn.utils.rnn functions against PyTorch's results: pure data movement, so every value must be exact.</summary>
internal static class PackedUtilityCases
{
    public static double Run(string name)
    {
        Fixture f = Fixture.Load("utils", name);
        string function = f.RawInputRoot("function");
        switch (function)
        {
            case "pad_sequence":
                {
                    Tensor<float>[] sequences = f.Tensors("inputs", "sequences");
                    bool batchFirst = f.Bool("batchFirst");
                    float value = f.Float("paddingValue");
                    Exact(f.Output("padded"), RnnUtils.PadSequence(sequences, batchFirst, value), name);
                    Exact(f.Output("padded_left"), RnnUtils.PadSequence(sequences, batchFirst, value, PaddingSide.Left), name + " (left)");
                    break;
                }

            case "pack_sequence":
                {
                    PackedSequence packed = RnnUtils.PackSequence(f.Tensors("inputs", "sequences"), f.Bool("enforceSorted"));
                    CheckPacked(f, packed, name);
                    (Tensor<float> padded, int[] lengths) = RnnUtils.PadPackedSequence(packed, batchFirst: true, paddingValue: 9f, totalLength: 7);
                    Exact(f.Output("padded_batch_first_total_7_value_9"), padded, name);
                    lengths.Should().Equal(f.Ints("outputs", "lengths"));
                    Tensor<float>[] unpacked = RnnUtils.UnpackSequence(packed);
                    Tensor<float>[] expected = f.Tensors("outputs", "unpacked");
                    unpacked.Should().HaveCount(expected.Length);
                    for (int i = 0; i < expected.Length; i++)
                    {
                        Exact(expected[i], unpacked[i], $"{name}: unpacked[{i}]");
                    }

                    break;
                }

            case "pack_padded_sequence":
                {
                    Tensor<float> input = f.Input("input");
                    float[] before = input.ToArray();
                    bool batchFirst = f.Bool("batchFirst");
                    int[] lengths = f.Ints("inputs", "lengths")!;
                    PackedSequence packed = RnnUtils.PackPaddedSequence(input, lengths, batchFirst, enforceSorted: false);
                    CheckPacked(f, packed, name);
                    (Tensor<float> padded, int[] outLengths) = RnnUtils.PadPackedSequence(packed, batchFirst);
                    Exact(f.Output("padded"), padded, name + ": padded");
                    outLengths.Should().Equal(f.Ints("outputs", "lengths"));
                    Tensor<float>[] unpadded = RnnUtils.UnpadSequence(input, lengths, batchFirst);
                    Tensor<float>[] expected = f.Tensors("outputs", "unpadded");
                    for (int i = 0; i < expected.Length; i++)
                    {
                        Exact(expected[i], unpadded[i], $"{name}: unpadded[{i}]");
                    }

                    input.ToArray().Should().Equal(before, "unpad_sequence must not modify its input (PyTorch's transposes it in place)");
                    input.Lengths.ToArray().Should().Equal(f.Input("input").Lengths.ToArray());
                    break;
                }

            case "invert_permutation":
                RnnUtils.InvertPermutation(f.Ints("inputs", "permutation")).Should().Equal(f.Ints("outputs", "inverse"));
                break;

            default:
                throw new InvalidOperationException("unknown utility fixture " + function);
        }

        return 0;
    }

    private static void CheckPacked(Fixture f, PackedSequence packed, string name)
    {
        Exact(f.Output("data"), packed.Data, name + ": data");
        packed.BatchSizes.ToArray().Should().Equal(f.Ints("outputs", "batch_sizes"));
        packed.SortedIndices.ToArray().Should().Equal(f.Ints("outputs", "sorted_indices") ?? []);
        packed.UnsortedIndices.ToArray().Should().Equal(f.Ints("outputs", "unsorted_indices") ?? []);
    }

    private static void Exact(Tensor<float> expected, Tensor<float> actual, string what)
    {
        actual.Lengths.ToArray().Should().Equal(expected.Lengths.ToArray(), what + ": shape");
        TensorAssert.Close(expected, actual, 0f, what);
    }

    private static float[] ToArray(this Tensor<float> t)
    {
        var values = new float[t.FlattenedLength];
        t.FlattenTo(values);
        return values;
    }
}
