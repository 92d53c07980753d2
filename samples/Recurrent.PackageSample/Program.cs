// A model trained in PyTorch (samples/train/train.py), run in .NET from its checkpoint: no Python, no native code.
// The model reads 3 to 12 digits and says which group they mostly fall in: low (0-3), middle (4-6) or high (7-9).
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Text.Json;
using Recurrent;

string folder = AppContext.BaseDirectory;
var state = StateDict.Load(Path.Combine(folder, "model.pt"));
Console.WriteLine($"model.pt: {state.Count} tensors ({string.Join(", ", state.Keys)})");

// The PyTorch model: Embedding(10, 16) -> LSTM(16, 32) on a PackedSequence -> Linear(32, 3) on h_n.
// Eval(): inference, as model.eval() in PyTorch (a module in training mode records its forward for Backward).
var embed = new Embedding(10, 16).Eval();
var lstm = new Lstm(16, 32).Eval();
embed.LoadStateDict(StateDict.Select(state, "embed"));
lstm.LoadStateDict(StateDict.Select(state, "rnn"));
float[] headWeight = Values(state["head.weight"]), headBias = Values(state["head.bias"]);

using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
long[][] sequences = expected.RootElement.GetProperty("sequences").EnumerateArray()
    .Select(s => s.EnumerateArray().Select(d => d.GetInt64()).ToArray()).ToArray();
float[][] torchLogits = expected.RootElement.GetProperty("logits").EnumerateArray()
    .Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
int[] labels = expected.RootElement.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();

// Sequences of different lengths: embed each, pack them (any order), run the LSTM once.
Tensor<float>[] embedded = sequences.Select(s => embed.Forward(Tensor.Create(s, [s.Length]))).ToArray();
PackedSequence packed = RnnUtils.PackSequence(embedded, enforceSorted: false);
(_, Tensor<float> hN, _) = lstm.Forward(packed);
float[] h = Values(hN); // (1, N, 32): each sequence's h at its own last step

string[] groups = ["low", "middle", "high"];
double worst = 0;
int correct = 0;
// The head on sequence n's h: three logits, and the largest difference from PyTorch's so far.
float[] Head(float[] hs, int n, ref double largest)
{
    float[] logits = new float[3];
    for (int c = 0; c < 3; c++)
    {
        logits[c] = TensorPrimitives.Dot(hs.AsSpan(n * 32, 32), headWeight.AsSpan(c * 32, 32)) + headBias[c];
        largest = Math.Max(largest, Math.Abs(logits[c] - torchLogits[n][c]));
    }

    return logits;
}

for (int n = 0; n < sequences.Length; n++)
{
    float[] logits = Head(h, n, ref worst);

    int predicted = TensorPrimitives.IndexOfMax(logits);
    correct += predicted == labels[n] ? 1 : 0;
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"{string.Join(" ", sequences[n]),-26} -> {groups[predicted],-6} logits [{string.Join(", ", logits.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}]  PyTorch [{string.Join(", ", torchLogits[n].Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}]"));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{correct}/{sequences.Length} correct; largest difference from PyTorch's logits: {worst:E2}"));
if (worst > 1e-4)
{
    Console.Error.WriteLine("predictions differ from PyTorch's");
    return 1;
}

Console.WriteLine("same predictions as PyTorch");

// The same model with its LSTM weights in bfloat16 (half the bytes) and in int8 (a quarter; the activations quantized
// per step too): inference-only copies. The same predictions?
foreach (WeightPrecision precision in new[] { WeightPrecision.BFloat16, WeightPrecision.Int8 })
{
    Lstm small = lstm.Quantize(precision);
    (_, Tensor<float> hSmall, _) = small.Forward(packed);
    float[] hq = Values(hSmall);
    int agree = 0;
    double drift = 0;
    for (int n = 0; n < sequences.Length; n++)
    {
        agree += TensorPrimitives.IndexOfMax(Head(hq, n, ref drift)) == TensorPrimitives.IndexOfMax(torchLogits[n]) ? 1 : 0;
    }

    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"{precision} LSTM weights ({small.WeightBytes:N0} bytes against {lstm.WeightBytes:N0}): {agree}/{sequences.Length} predictions as PyTorch's, largest logit difference {drift:E2}"));
    if (agree != sequences.Length)
    {
        Console.Error.WriteLine($"the {precision} copy changed a prediction");
        return 1;
    }
}

return 0;

static float[] Values(Tensor<float> t)
{
    var v = new float[t.FlattenedLength];
    t.FlattenTo(v);
    return v;
}
