using System;
using System.IO;
using System.Numerics.Tensors;
using Recurrent.Optim;

namespace Recurrent.Training;

/// <summary>
/// N vs M, sequence to sequence: a GRU encoder reads 5 digits, a GRU decoder starting from the encoder's h_n writes them
/// reversed (teacher forcing while training, its own predictions when tested). Gradients chain by hand:
/// loss → head → decoder (whose dL/dh0 is the encoder's dL/dh_n) → encoder → embeddings.
/// </summary>
public static class Seq2SeqReverser
{
    private const int Length = 5, Batch = 32, Hidden = 64, Embed = 16, Start = 10;

    public static TrainingReport Train(int epochs, TextWriter log, int batchesPerEpoch = 50, int seed = 0)
    {
        var random = new Random(seed);
        var encoderEmbed = new Embedding(11, Embed, seed: seed);
        var decoderEmbed = new Embedding(11, Embed, seed: seed + 1);
        var encoder = new Gru(Embed, Hidden, seed: seed + 2);
        var decoder = new Gru(Embed, Hidden, seed: seed + 3);
        var head = new Linear(Hidden, 10, seed: seed + 4);
        Module[] modules = [encoderEmbed, decoderEmbed, encoder, decoder, head];
        log.WriteLine("encoder: " + ModelSummary.Of([encoderEmbed, encoder], Length, Batch));
        log.WriteLine("decoder (its h0 is the encoder's h_n): " + ModelSummary.Of([decoderEmbed, decoder, head], Length, Batch));
        Parameter[] parameters = [.. encoderEmbed.Parameters(), .. decoderEmbed.Parameters(), .. encoder.Parameters(), .. decoder.Parameters(), .. head.Parameters()];
        var optimizer = new Adam(parameters, lr: 0.005f);
        var epochLog = new EpochLog(log);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            epochLog.Start();
            foreach (Module m in modules)
            {
                m.Train();
            }

            for (int i = 0; i < batchesPerEpoch; i++)
            {
                (long[] source, long[] decoderInput, int[] target) = MakeBatch(random, Batch);
                optimizer.ZeroGrad();
                (Tensor<float> encoded, Tensor<float> context) = encoder.Forward(encoderEmbed.Forward(Tensor.Create(source, [Length, Batch])));
                (Tensor<float> decoded, _) = decoder.Forward(decoderEmbed.Forward(Tensor.Create(decoderInput, [Length, Batch])), context);
                Tensor<float> logits = head.Forward(decoded);                                  // (L, N, 10)
                LossResult loss = Loss.CrossEntropy(Reshape(logits, Length * Batch, 10), target);

                Tensor<float> gradDecoded = head.Backward(Reshape(loss.Gradient, Length, Batch, 10));
                RnnGradients decoderGrads = decoder.Backward(gradDecoded);
                decoderEmbed.Backward(decoderGrads.GradInput);
                RnnGradients encoderGrads = encoder.Backward(Tensor.Create(new float[encoded.FlattenedLength], encoded.Lengths), decoderGrads.GradH0);
                encoderEmbed.Backward(encoderGrads.GradInput);
                GradClip.ClipGradNorm(parameters, 1f);
                optimizer.Step();
                epochLog.Add(loss.Value);
            }

            epochLog.End(epoch);
        }

        foreach (Module m in modules)
        {
            m.Eval();
        }

        return new TrainingReport(epochLog.First, epochLog.Last, GreedyAccuracy(encoderEmbed, decoderEmbed, encoder, decoder, head, new Random(seed + 1000), log));
    }

    /// <summary>Decodes with the model's own previous prediction as input; the fraction of digits right.</summary>
    private static float GreedyAccuracy(Embedding encoderEmbed, Embedding decoderEmbed, Gru encoder, Gru decoder, Linear head, Random random, TextWriter log)
    {
        const int n = 256;
        (long[] source, _, int[] target) = MakeBatch(random, n);
        Tensor<float> h = encoder.Forward(encoderEmbed.Forward(Tensor.Create(source, [Length, n]))).HN;
        long[] previous = new long[n];
        Array.Fill(previous, Start);
        int correct = 0;
        long[] example = new long[Length];
        for (int t = 0; t < Length; t++)
        {
            (Tensor<float> step, h) = decoder.Forward(decoderEmbed.Forward(Tensor.Create(previous, [1, n])), h);
            float[] logits = new float[n * 10];
            head.Forward(step).FlattenTo(logits);
            for (int b = 0; b < n; b++)
            {
                previous[b] = TensorPrimitives.IndexOfMax(logits.AsSpan(b * 10, 10));
                correct += previous[b] == target[(t * n) + b] ? 1 : 0;
            }

            example[t] = previous[0];
        }

        log.WriteLine($"example: {string.Join(" ", Column(source, n, 0))} -> {string.Join(" ", example)}");
        return correct / (float)(n * Length);
    }

    /// <summary>Source digits, the decoder's teacher-forced input (start token, then the target shifted) and the target, all <c>(L, N)</c>.</summary>
    private static (long[] Source, long[] DecoderInput, int[] Target) MakeBatch(Random random, int batch)
    {
        long[] source = new long[Length * batch], decoderInput = new long[Length * batch];
        int[] target = new int[Length * batch];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < Length; t++)
            {
                source[(t * batch) + b] = random.Next(10);
            }

            for (int t = 0; t < Length; t++)
            {
                target[(t * batch) + b] = (int)source[((Length - 1 - t) * batch) + b];
                decoderInput[(t * batch) + b] = t == 0 ? Start : target[((t - 1) * batch) + b];
            }
        }

        return (source, decoderInput, target);
    }

    private static long[] Column(long[] values, int batch, int b)
    {
        long[] column = new long[Length];
        for (int t = 0; t < Length; t++)
        {
            column[t] = values[(t * batch) + b];
        }

        return column;
    }

    private static Tensor<float> Reshape(Tensor<float> tensor, params nint[] lengths)
    {
        float[] values = new float[tensor.FlattenedLength];
        tensor.FlattenTo(values);
        return Tensor.Create(values, lengths);
    }
}
