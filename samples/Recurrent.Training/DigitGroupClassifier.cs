using System;
using System.IO;
using System.Numerics.Tensors;
using Recurrent.Optim;

namespace Recurrent.Training;

/// <summary>
/// N vs 1: read 8 digits and say which group they mostly fall in, low (0-3), middle (4-6) or high (7-9), a tie going to
/// the lower group (the task of samples/train/train.py). Embedding → LSTM → Linear on h_n, cross-entropy, Adam.
/// </summary>
public static class DigitGroupClassifier
{
    private const int SeqLen = 8, Batch = 32, Hidden = 32;

    public static TrainingReport Train(int epochs, TextWriter log, int batchesPerEpoch = 50, int seed = 0)
    {
        var random = new Random(seed);
        var embed = new Embedding(10, 16, seed: seed);
        var lstm = new Lstm(16, Hidden, seed: seed + 1);
        var head = new Linear(Hidden, 3, seed: seed + 2);
        log.WriteLine(ModelSummary.Of([embed, lstm], SeqLen, Batch));
        log.WriteLine("the head reads h_n as (N, H): " + ModelSummary.Of([head], Batch, Hidden));
        Parameter[] parameters = [.. embed.Parameters(), .. lstm.Parameters(), .. head.Parameters()];
        var optimizer = new Adam(parameters, lr: 0.01f);
        var epochLog = new EpochLog(log, epochs);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            epochLog.Start();
            embed.Train();
            lstm.Train();
            head.Train();
            for (int i = 0; i < batchesPerEpoch; i++)
            {
                (long[] digits, int[] labels) = MakeBatch(random, Batch);

                // The PyTorch loop: zero_grad, forward, loss, backward, step.
                optimizer.ZeroGrad();
                Tensor<float> x = embed.Forward(Tensor.Create(digits, [SeqLen, Batch]));   // (L, N, 16)
                (Tensor<float> output, Tensor<float> hN, _) = lstm.Forward(x);          // h_n (1, N, H)
                if (epoch == 1 && i == 0)
                {
                    log.WriteLine($"shapes: digits [{SeqLen}, {Batch}] -> embedded {SampleHelpers.Shape(x)} -> LSTM output {SampleHelpers.Shape(output)}, h_n {SampleHelpers.Shape(hN)} -> logits [{Batch}, 3]");
                }

                LossResult loss = Loss.CrossEntropy(head.Forward(Flatten(hN)), labels);
                Tensor<float> gradHN = head.Backward(loss.Gradient);
                RnnGradients grads = lstm.Backward(Tensor.Create(new float[output.FlattenedLength], output.Lengths), Unflatten(gradHN));
                embed.Backward(grads.GradInput);
                GradClip.ClipGradNorm(parameters, 5f);
                optimizer.Step();
                epochLog.Add(loss.Value);
            }

            epochLog.End(epoch);
        }

        // Held-out accuracy in evaluation mode.
        embed.Eval();
        lstm.Eval();
        head.Eval();
        (long[] testDigits, int[] testLabels) = MakeBatch(new Random(seed + 1000), 512);
        float Accuracy(Lstm layer)
        {
            Tensor<float> h = layer.Forward(embed.Forward(Tensor.Create(testDigits, [SeqLen, 512]))).HN;
            float[] logits = new float[512 * 3];
            head.Forward(Flatten(h)).FlattenTo(logits);
            int correct = 0;
            for (int b = 0; b < 512; b++)
            {
                correct += TensorPrimitives.IndexOfMax(logits.AsSpan(b * 3, 3)) == testLabels[b] ? 1 : 0;
            }

            return correct / 512f;
        }

        return new TrainingReport(epochLog.Losses, Accuracy(lstm), Accuracy(lstm.Quantize(WeightPrecision.BFloat16)), Accuracy(lstm.Quantize(WeightPrecision.Int8)));
    }

    /// <summary>Random digit sequences, time-major <c>(L, N)</c>, and their labels.</summary>
    private static (long[] Digits, int[] Labels) MakeBatch(Random random, int batch)
    {
        long[] digits = new long[SeqLen * batch];
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int[] counts = new int[3];
            for (int t = 0; t < SeqLen; t++)
            {
                int d = random.Next(10);
                digits[(t * batch) + b] = d;
                counts[d <= 3 ? 0 : d <= 6 ? 1 : 2]++;
            }

            labels[b] = counts[0] >= counts[1] && counts[0] >= counts[2] ? 0 : counts[1] >= counts[2] ? 1 : 2;
        }

        return (digits, labels);
    }

    /// <summary>h_n <c>(1, N, H)</c> as <c>(N, H)</c>.</summary>
    private static Tensor<float> Flatten(Tensor<float> hN) => Tensor.Create(SampleHelpers.Values(hN), [hN.Lengths[1], hN.Lengths[2]]);

    private static Tensor<float> Unflatten(Tensor<float> rows) => Tensor.Create(SampleHelpers.Values(rows), [1, rows.Lengths[0], rows.Lengths[1]]);
}
