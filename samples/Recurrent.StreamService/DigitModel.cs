using System;
using System.Numerics.Tensors;

namespace Recurrent.Samples.Streaming;

/// <summary>
/// The package sample's model (samples/train/train.py, trained in PyTorch): Embedding(10, 16) → LSTM(16, 32) → Linear(32, 3)
/// on the last h; it says which group a run of digits mostly falls in: low (0-3), middle (4-6) or high (7-9). The
/// service streams digits through the LSTM; the load generator runs the same model alone to check every answer.
/// </summary>
public sealed class DigitModel
{
    public const int Features = 16;
    public const int Hidden = 32;
    public static readonly string[] Groups = ["low", "middle", "high"];

    private readonly float[] _table;
    private readonly float[] _headWeight;
    private readonly float[] _headBias;

    private DigitModel(Lstm lstm, float[] table, float[] headWeight, float[] headBias)
    {
        Lstm = lstm;
        _table = table;
        _headWeight = headWeight;
        _headBias = headBias;
    }

    /// <summary>The recurrent layer, in evaluation mode.</summary>
    public Lstm Lstm { get; }

    public static DigitModel Load(string path)
    {
        var state = StateDict.Load(path);
        var lstm = new Lstm(Features, Hidden);
        lstm.LoadStateDict(StateDict.Select(state, "rnn"));
        lstm.Eval();
        return new DigitModel(lstm, Values(state["embed.weight"]), Values(state["head.weight"]), Values(state["head.bias"]));
    }

    /// <summary>Each digit's embedding row, <c>(digits, 16)</c> row-major. A digit outside 0-9 is refused with the reason.</summary>
    public void Embed(ReadOnlySpan<int> digits, Span<float> features)
    {
        for (int i = 0; i < digits.Length; i++)
        {
            int d = digits[i];
            if ((uint)d > 9)
            {
                throw new ArgumentException($"digits are 0 to 9, but digit {i} is {d}", nameof(digits));
            }

            _table.AsSpan(d * Features, Features).CopyTo(features.Slice(i * Features, Features));
        }
    }

    /// <summary>The head on one h: three logits.</summary>
    public void Logits(ReadOnlySpan<float> h, Span<float> logits)
    {
        for (int c = 0; c < 3; c++)
        {
            logits[c] = TensorPrimitives.Dot(h, _headWeight.AsSpan(c * Hidden, Hidden)) + _headBias[c];
        }
    }

    private static float[] Values(Tensor<float> t)
    {
        float[] values = new float[t.FlattenedLength];
        t.FlattenTo(values);
        return values;
    }
}
