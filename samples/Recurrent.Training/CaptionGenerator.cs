using System;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using Recurrent.Optim;
using static Recurrent.Training.SampleHelpers;

namespace Recurrent.Training;

/// <summary>
/// 1 vs N (as in captioning): one input, a sequence out, the input fed to every step. Each of 8 classes has a
/// prototype feature vector (an "image") and a 6-token caption; an example is its class's prototype plus noise, and the
/// model writes the caption. Linear (features → 32) repeated over the 6 steps → GRU(batch_first) → Linear on every step,
/// cross-entropy over every token, Adam. Held out: new noisy examples.
/// </summary>
public static class CaptionGenerator
{
    private const int Classes = 8, Features = 16, Steps = 6, Vocabulary = 12, Batch = 32, Hidden = 48;

    public static TrainingReport Train(int epochs, TextWriter log, int batchesPerEpoch = 40, int seed = 0)
    {
        var world = new Random(seed + 7);
        float[][] prototypes = Enumerable.Range(0, Classes).Select(_ => Enumerable.Range(0, Features).Select(_ => (float)((world.NextDouble() * 2) - 1)).ToArray()).ToArray();
        int[][] captions = Enumerable.Range(0, Classes).Select(_ => Enumerable.Range(0, Steps).Select(_ => world.Next(Vocabulary)).ToArray()).ToArray();

        var random = new Random(seed);
        var encode = new Linear(Features, 32, seed: seed);
        var gru = new Gru(32, Hidden, batchFirst: true, seed: seed + 1);
        var head = new Linear(Hidden, Vocabulary, seed: seed + 2);
        Module[] model = [encode, gru, head];
        log.WriteLine(ModelSummary.Of([encode], Batch, Features));
        log.WriteLine(ModelSummary.Of([gru, head], Batch, Steps, 32));
        Parameter[] parameters = [.. encode.Parameters(), .. gru.Parameters(), .. head.Parameters()];
        var optimizer = new Adam(parameters, lr: 0.01f);
        var epochLog = new EpochLog(log, epochs);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            epochLog.Start();
            SetTraining(model, true);
            for (int i = 0; i < batchesPerEpoch; i++)
            {
                (float[] inputs, int[] tokens) = MakeBatch(random, Batch, prototypes, captions);
                optimizer.ZeroGrad();
                Tensor<float> feature = encode.Forward(Tensor.Create(inputs, [Batch, Features]));   // (N, 32)
                Tensor<float> repeated = RepeatOverSteps(feature);                                   // (N, L, 32): the same input at every step
                Tensor<float> output = gru.Forward(repeated).Output;                                 // (N, L, H)
                Tensor<float> logits = head.Forward(output);                                         // (N, L, vocabulary)
                if (epoch == 1 && i == 0)
                {
                    log.WriteLine($"shapes: features [{Batch}, {Features}] -> encoded {Shape(feature)} -> repeated {Shape(repeated)} -> GRU output {Shape(output)} -> logits {Shape(logits)}");
                }

                LossResult loss = Loss.CrossEntropy(Tensor.Create(Values(logits), [Batch * Steps, Vocabulary]), tokens);
                RnnGradients grads = gru.Backward(head.Backward(loss.Gradient));

                // The input fed every step gets the gradient of every step.
                encode.Backward(SumOverSteps(grads.GradInput));
                GradClip.ClipGradNorm(parameters, 5f);
                optimizer.Step();
                epochLog.Add(loss.Value);
            }

            epochLog.End(epoch);
        }

        SetTraining(model, false);
        const int test = 256;
        (float[] testInputs, int[] testTokens) = MakeBatch(new Random(seed + 1000), test, prototypes, captions);
        float Captioned(Gru layer) => Accuracy(Values(head.Forward(layer.Forward(RepeatOverSteps(encode.Forward(Tensor.Create(testInputs, [test, Features])))).Output)), testTokens, Vocabulary);
        float accuracy = Captioned(gru), bf16 = Captioned(gru.Quantize(WeightPrecision.BFloat16)), int8 = Captioned(gru.Quantize(WeightPrecision.Int8));
        log.WriteLine($"held-out caption tokens right: {accuracy:P1} of {testTokens.Length} ({bf16:P1} with the GRU's weights in bfloat16, {int8:P1} in int8)");
        return new TrainingReport(epochLog.Losses, accuracy, bf16, int8);
    }

    /// <summary>Noisy prototypes <c>(N, features)</c> and their captions' tokens, batch-first <c>(N, L)</c>.</summary>
    private static (float[] Inputs, int[] Tokens) MakeBatch(Random random, int batch, float[][] prototypes, int[][] captions)
    {
        float[] inputs = new float[batch * Features];
        int[] tokens = new int[batch * Steps];
        for (int b = 0; b < batch; b++)
        {
            int c = random.Next(Classes);
            for (int f = 0; f < Features; f++)
            {
                inputs[(b * Features) + f] = prototypes[c][f] + (float)(((random.NextDouble() * 2) - 1) * 0.5);
            }

            captions[c].CopyTo(tokens, b * Steps);
        }

        return (inputs, tokens);
    }

    /// <summary><c>(N, F)</c> → <c>(N, L, F)</c>, each row copied to every step.</summary>
    private static Tensor<float> RepeatOverSteps(Tensor<float> rows)
    {
        int n = (int)rows.Lengths[0], f = (int)rows.Lengths[1];
        float[] source = Values(rows), repeated = new float[n * Steps * f];
        for (int b = 0; b < n; b++)
        {
            for (int t = 0; t < Steps; t++)
            {
                source.AsSpan(b * f, f).CopyTo(repeated.AsSpan(((b * Steps) + t) * f, f));
            }
        }

        return Tensor.Create(repeated, [n, Steps, f]);
    }

    /// <summary><c>(N, L, F)</c> → <c>(N, F)</c>, summed over the steps.</summary>
    private static Tensor<float> SumOverSteps(Tensor<float> steps)
    {
        int n = (int)steps.Lengths[0], f = (int)steps.Lengths[2];
        float[] source = Values(steps), sum = new float[n * f];
        for (int b = 0; b < n; b++)
        {
            for (int t = 0; t < Steps; t++)
            {
                TensorPrimitives.Add(sum.AsSpan(b * f, f), source.AsSpan(((b * Steps) + t) * f, f), sum.AsSpan(b * f, f));
            }
        }

        return Tensor.Create(sum, [n, f]);
    }
}
