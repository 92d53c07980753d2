using System;
using System.IO;
using System.Numerics.Tensors;
using Recurrent.Optim;
using static Recurrent.Training.SampleHelpers;

namespace Recurrent.Training;

/// <summary>
/// N vs N (sequence tagging): one output per input step. Tag each digit of a 12-digit sequence 1 if it is larger than
/// every digit before it (a new record), else 0; the answer at step t depends on all the steps before it.
/// Embedding → GRU(batch_first) → Linear on every step's output, cross-entropy over every token, Adam.
/// </summary>
public static class RecordTagger
{
    private const int SeqLen = 12, Batch = 32, Hidden = 32, Classes = 2;

    public static TrainingReport Train(int epochs, TextWriter log, int batchesPerEpoch = 40, int seed = 0)
    {
        var random = new Random(seed);
        var embed = new Embedding(10, 16, seed: seed);
        var gru = new Gru(16, Hidden, batchFirst: true, seed: seed + 1);
        var head = new Linear(Hidden, Classes, seed: seed + 2);
        Module[] model = [embed, gru, head];
        log.WriteLine(ModelSummary.Of(model, Batch, SeqLen));
        Parameter[] parameters = [.. embed.Parameters(), .. gru.Parameters(), .. head.Parameters()];
        var optimizer = new Adam(parameters, lr: 0.01f);
        var epochLog = new EpochLog(log, epochs);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            epochLog.Start();
            SetTraining(model, true);
            for (int i = 0; i < batchesPerEpoch; i++)
            {
                (long[] digits, int[] tags) = MakeBatch(random, Batch);
                optimizer.ZeroGrad();
                Tensor<float> x = embed.Forward(Tensor.Create(digits, [Batch, SeqLen]));  // (N, L, 16)
                Tensor<float> output = gru.Forward(x).Output;                             // (N, L, H): every step
                Tensor<float> logits = head.Forward(output);                              // (N, L, 2): a tag per step
                if (epoch == 1 && i == 0)
                {
                    log.WriteLine($"shapes: digits [{Batch}, {SeqLen}] -> embedded {Shape(x)} -> GRU output {Shape(output)} -> logits {Shape(logits)}");
                }

                // Every token is one row of the loss: (N·L, 2) logits against N·L tags.
                LossResult loss = Loss.CrossEntropy(Tensor.Create(Values(logits), [Batch * SeqLen, Classes]), tags);
                Tensor<float> gradOutput = head.Backward(loss.Gradient);
                RnnGradients grads = gru.Backward(gradOutput);
                embed.Backward(grads.GradInput);
                GradClip.ClipGradNorm(parameters, 5f);
                optimizer.Step();
                epochLog.Add(loss.Value);
            }

            epochLog.End(epoch);
        }

        SetTraining(model, false);
        const int test = 256;
        (long[] testDigits, int[] testTags) = MakeBatch(new Random(seed + 1000), test);
        float Tagged(Gru layer) => Accuracy(Values(head.Forward(layer.Forward(embed.Forward(Tensor.Create(testDigits, [test, SeqLen]))).Output)), testTags, Classes);
        float accuracy = Tagged(gru), bf16 = Tagged(gru.Quantize(WeightPrecision.BFloat16)), int8 = Tagged(gru.Quantize(WeightPrecision.Int8));
        log.WriteLine($"held-out tokens tagged right: {accuracy:P1} of {testTags.Length} ({bf16:P1} with the GRU's weights in bfloat16, {int8:P1} in int8)");
        return new TrainingReport(epochLog.Losses, accuracy, bf16, int8);
    }

    /// <summary>Random digit sequences, batch-first <c>(N, L)</c>, and each token's tag in the same order.</summary>
    private static (long[] Digits, int[] Tags) MakeBatch(Random random, int batch)
    {
        long[] digits = new long[batch * SeqLen];
        int[] tags = new int[batch * SeqLen];
        for (int b = 0; b < batch; b++)
        {
            int best = -1;
            for (int t = 0; t < SeqLen; t++)
            {
                int d = random.Next(10);
                digits[(b * SeqLen) + t] = d;
                tags[(b * SeqLen) + t] = d > best ? 1 : 0;
                best = Math.Max(best, d);
            }
        }

        return (digits, tags);
    }
}
