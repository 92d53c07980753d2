using System;
using System.IO;
using System.Numerics.Tensors;
using Recurrent.Optim;

namespace Recurrent.Training;

/// <summary>
/// N vs M, sequence to sequence: a GRU encoder reads 5 digits into a context (its h_n); a GRU decoder starts from that
/// context and also reads it at every step (each step's input is the previous digit's embedding and the context), and
/// writes the digits reversed (teacher forcing while training, its own predictions when tested). Gradients chain by
/// hand: loss → head → decoder (dL/dh0 plus the context's share of every step's dL/dinput is the encoder's dL/dh_n) →
/// encoder → embeddings.
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
        var decoder = new Gru(Embed + Hidden, Hidden, seed: seed + 3);   // input: the previous digit's embedding and the context
        var head = new Linear(Hidden, 10, seed: seed + 4);
        Module[] modules = [encoderEmbed, decoderEmbed, encoder, decoder, head];
        log.WriteLine("encoder: " + ModelSummary.Of([encoderEmbed, encoder], Length, Batch));
        log.WriteLine("decoder embedding: " + ModelSummary.Of([decoderEmbed], Length, Batch));
        log.WriteLine("decoder (each step reads [embedding, context]; h0 is the context): " + ModelSummary.Of([decoder, head], Length, Batch, Embed + Hidden));
        Parameter[] parameters = [.. encoderEmbed.Parameters(), .. decoderEmbed.Parameters(), .. encoder.Parameters(), .. decoder.Parameters(), .. head.Parameters()];
        var optimizer = new Adam(parameters, lr: 0.005f);
        var epochLog = new EpochLog(log, epochs);
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
                Tensor<float> stepInputs = WithContext(decoderEmbed.Forward(Tensor.Create(decoderInput, [Length, Batch])), context); // (L, N, 16 + 64)
                (Tensor<float> decoded, _) = decoder.Forward(stepInputs, context);
                Tensor<float> logits = head.Forward(decoded);                                  // (L, N, 10)
                if (epoch == 1 && i == 0)
                {
                    log.WriteLine($"shapes: source [{Length}, {Batch}] -> encoded {SampleHelpers.Shape(encoded)}, context h_n {SampleHelpers.Shape(context)} -> decoder input {SampleHelpers.Shape(stepInputs)} -> decoded {SampleHelpers.Shape(decoded)} -> logits {SampleHelpers.Shape(logits)}");
                }

                LossResult loss = Loss.CrossEntropy(Reshape(logits, Length * Batch, 10), target);

                Tensor<float> gradDecoded = head.Backward(Reshape(loss.Gradient, Length, Batch, 10));
                RnnGradients decoderGrads = decoder.Backward(gradDecoded);
                (Tensor<float> gradEmbedded, Tensor<float> gradContext) = SplitContext(decoderGrads.GradInput, decoderGrads.GradH0);
                decoderEmbed.Backward(gradEmbedded);
                RnnGradients encoderGrads = encoder.Backward(Tensor.Create(new float[encoded.FlattenedLength], encoded.Lengths), gradContext);
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

        return new TrainingReport(
            epochLog.Losses,
            GreedyAccuracy(encoderEmbed, decoderEmbed, encoder, decoder, head, new Random(seed + 1000), log),
            GreedyAccuracy(encoderEmbed, decoderEmbed, encoder.Quantize(WeightPrecision.BFloat16), decoder.Quantize(WeightPrecision.BFloat16), head, new Random(seed + 1000), log),
            GreedyAccuracy(encoderEmbed, decoderEmbed, encoder.Quantize(WeightPrecision.Int8), decoder.Quantize(WeightPrecision.Int8), head, new Random(seed + 1000), log));
    }

    /// <summary>Decodes with the model's own previous prediction as input; the fraction of digits right.</summary>
    private static float GreedyAccuracy(Embedding encoderEmbed, Embedding decoderEmbed, Gru encoder, Gru decoder, Linear head, Random random, TextWriter log)
    {
        const int n = 256;
        (long[] source, _, int[] target) = MakeBatch(random, n);
        Tensor<float> context = encoder.Forward(encoderEmbed.Forward(Tensor.Create(source, [Length, n]))).HN;
        Tensor<float> h = context;
        long[] previous = new long[n];
        Array.Fill(previous, Start);
        int correct = 0;
        long[] example = new long[Length];
        for (int t = 0; t < Length; t++)
        {
            (Tensor<float> step, h) = decoder.Forward(WithContext(decoderEmbed.Forward(Tensor.Create(previous, [1, n])), context), h);
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

    /// <summary>Each step's input <c>(L, N, E)</c> joined with the context <c>(1, N, H)</c>: <c>(L, N, E + H)</c>.</summary>
    private static Tensor<float> WithContext(Tensor<float> embedded, Tensor<float> context)
    {
        int steps = (int)embedded.Lengths[0], n = (int)embedded.Lengths[1], e = (int)embedded.Lengths[2], h = (int)context.Lengths[2];
        float[] x = SampleHelpers.Values(embedded), c = SampleHelpers.Values(context), joined = new float[steps * n * (e + h)];
        for (int row = 0; row < steps * n; row++)
        {
            x.AsSpan(row * e, e).CopyTo(joined.AsSpan(row * (e + h), e));
            c.AsSpan((row % n) * h, h).CopyTo(joined.AsSpan((row * (e + h)) + e, h));
        }

        return Tensor.Create(joined, [steps, n, e + h]);
    }

    /// <summary>
    /// The decoder's dL/dinput split into its embedding part <c>(L, N, E)</c> and the context's gradient <c>(1, N, H)</c>: the
    /// context's share of every step, plus dL/dh0 (the context is also the decoder's initial state).
    /// </summary>
    private static (Tensor<float> Embedded, Tensor<float> Context) SplitContext(Tensor<float> gradInput, Tensor<float> gradH0)
    {
        int steps = (int)gradInput.Lengths[0], n = (int)gradInput.Lengths[1], h = (int)gradH0.Lengths[2], e = (int)gradInput.Lengths[2] - h;
        float[] g = SampleHelpers.Values(gradInput), embedded = new float[steps * n * e], context = SampleHelpers.Values(gradH0);
        for (int row = 0; row < steps * n; row++)
        {
            g.AsSpan(row * (e + h), e).CopyTo(embedded.AsSpan(row * e, e));
            Span<float> target = context.AsSpan((row % n) * h, h);
            TensorPrimitives.Add(target, g.AsSpan((row * (e + h)) + e, h), target);
        }

        return (Tensor.Create(embedded, [steps, n, e]), Tensor.Create(context, [1, n, h]));
    }

    private static Tensor<float> Reshape(Tensor<float> tensor, params nint[] lengths) => Tensor.Create(SampleHelpers.Values(tensor), lengths);
}
