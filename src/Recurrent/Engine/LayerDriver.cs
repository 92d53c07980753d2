using System;
using Recurrent.Kernels;
using Recurrent.Training;

namespace Recurrent.Engine;

/// <summary>
/// Runs a stack of recurrent layers the way PyTorch's CPU path does (RNN.cpp <c>apply_layer_stack</c>): per layer and
/// direction, the input projection of every step as one GEMM, then per step the recurrent product and the gate math,
/// fused tile by tile (<see cref="PanelKernels"/>, <see cref="FusedGates"/>). Rows may be time-major <c>(L, N, ·)</c> or
/// batch-first <c>(N, L, ·)</c>: step t's rows are found by index arithmetic, and h_t is written straight into the
/// output, where step t+1 reads it back as h_{t-1}. Dropout (training only) scales every layer's output but the last.
/// Threads: a layer runs on up to <see cref="Parallelism.NumThreads"/> workers; each worker owns a range of
/// panels (all gates of its hidden units, so its share of W_hh stays in its own cache) and one barrier ends each step;
/// bidirectional layers give each direction its own workers. A tile's sum is always computed whole by one worker, so
/// the bits are the same at every thread count.
/// Given a <see cref="BpttTape"/> (a training call, time-major rows), the same passes record what backpropagation needs:
/// the gate pass writes the activated gates back over the input projection in the tape's gate buffer, each tile keeps its
/// c_t / GRU <c>W_hn h + b_hn</c> / unprojected h, and every layer's output and dropout mask stay in the tape.
/// </summary>
internal static unsafe class LayerDriver
{
    /// <summary>Runs the stack.</summary>
    /// <param name="spec">The layers.</param>
    /// <param name="layers">Packed weights, index <c>layer * D + direction</c>.</param>
    /// <param name="input">Rows of I features, <c>(L, N, I)</c> or, when not <paramref name="timeMajor"/>, <c>(N, L, I)</c>.</param>
    /// <param name="seqLen">L ≥ 1.</param>
    /// <param name="batch">N ≥ 0.</param>
    /// <param name="timeMajor">The row layout of input and output.</param>
    /// <param name="h0">Initial h <c>(L*D, N, H_out)</c>, or empty for zeros.</param>
    /// <param name="c0">Initial c <c>(L*D, N, H)</c> (LSTM), or empty for zeros.</param>
    /// <param name="output">Receives the last layer's h at every step, same layout as the input, D*H_out wide.</param>
    /// <param name="hN">Receives <c>(L*D, N, H_out)</c>.</param>
    /// <param name="cN">Receives <c>(L*D, N, H)</c> (LSTM), otherwise empty.</param>
    /// <param name="dropout">Probability of zeroing an element between layers.</param>
    /// <param name="dropoutRandom">The mask source; <see langword="null"/> means no dropout (evaluation mode).</param>
    /// <param name="workspace">Scratch memory, grown as needed.</param>
    /// <param name="batchSizes">
    /// Packed input (<see cref="PackedSequence"/>): rows active at each step, non-increasing, summing to the input's rows;
    /// <paramref name="seqLen"/> is its length and <paramref name="batch"/> its first element. Empty for a padded batch.
    /// </param>
    /// <param name="sortedIndices">Packed input: the caller's batch index of each sorted row, by which h0/c0 are read and h_n/c_n written; empty for the identity.</param>
    /// <param name="tape"></param>
    public static void Forward(
        in RecurrentSpec spec,
        PackedLayer[] layers,
        ReadOnlySpan<float> input,
        int seqLen,
        int batch,
        bool timeMajor,
        ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0,
        Span<float> output,
        Span<float> hN,
        Span<float> cN,
        float dropout,
        Random? dropoutRandom,
        RecurrentWorkspace workspace,
        ReadOnlySpan<int> batchSizes = default,
        ReadOnlySpan<int> sortedIndices = default,
        BpttTape? tape = null)
    {
        int threads = ChooseThreads(spec, batch);
        int rows = workspace.SetSteps(seqLen, batch, batchSizes);
        workspace.Ensure(spec, rows, batch, threads);
        LayerJob job = workspace.Job!;
        int layerWidth = spec.NumDirections * spec.OutputSize;
        if (!sortedIndices.IsEmpty && !h0.IsEmpty)
        {
            // The kernels read a step's initial h as strided rows, so h0 is put in sorted order once (a few rows per layer).
            h0 = workspace.SortStates(h0, spec.NumLayers * spec.NumDirections, batch, spec.OutputSize, sortedIndices);
        }

        if (tape is not null)
        {
            tape.Begin(spec, layers, seqLen, batch, rows, workspace, h0, c0, sortedIndices);
        }

        fixed (float* pInput = input, pH0 = h0, pC0 = c0, pOutput = output, pHN = hN, pCN = cN)
        fixed (float* pLayerA = workspace.LayerA, pLayerB = workspace.LayerB)
        fixed (int* pPerm = sortedIndices)
        {
            float* layerInput = pInput;
            for (int layer = 0; layer < spec.NumLayers; layer++)
            {
                bool last = layer == spec.NumLayers - 1;
                if (tape is not null)
                {
                    // Recording: every layer writes its h into the tape, which keeps it as the next layer's h_{t-1} source.
                    fixed (float* pRecordIn = tape.LayerInputs[layer], pRecordOut = tape.LayerOutputs[layer])
                    {
                        job.Set(spec, layers, layer, seqLen, batch, rows, timeMajor, pRecordIn, pRecordOut, pH0, pC0, pHN, pCN, pPerm, workspace, tape);
                        Run(job, threads);
                    }

                    if (!last)
                    {
                        tape.Dropout(layer + 1, dropout, dropoutRandom);
                    }

                    continue;
                }

                float* layerOutput = last ? pOutput : (layer % 2 == 0 ? pLayerA : pLayerB);
                job.Set(spec, layers, layer, seqLen, batch, rows, timeMajor, layerInput, layerOutput, pH0, pC0, pHN, pCN, pPerm, workspace);
                Run(job, threads);
                if (!last && dropoutRandom is not null && dropout > 0f)
                {
                    Dropout.Apply(new Span<float>(layerOutput, rows * layerWidth), dropout, dropoutRandom);
                }

                layerInput = layerOutput;
            }

            job.Clear();
        }

        if (tape is not null && !output.IsEmpty)
        {
            tape.LayerOutputs[^1].AsSpan(0, rows * layerWidth).CopyTo(output);
        }
    }

    private static void Run(LayerJob job, int threads)
    {
        if (threads <= 1 || !WorkerPool.Shared.TryRun(job, threads))
        {
            job.Execute(0, 1);
        }
    }

    private static int ChooseThreads(in RecurrentSpec spec, int batch)
    {
        int threads = ThreadPolicy.MaxThreads;
        long stepWork = (long)Math.Max(batch, 1) * spec.GateSize * spec.OutputSize * spec.NumDirections;
        if (threads <= 1 || stepWork < ThreadPolicy.MinParallelStepWork)
        {
            return 1;
        }

        // A large batch is shared by rows (ThreadPolicy.RowSplitMinRows per worker); otherwise no more workers per direction
        // than panels of hidden units to share out.
        int perDirection = spec.NumDirections == 2 ? Math.Max(1, threads / 2) : threads;
        if (batch >= ThreadPolicy.RowSplitMinRows * perDirection)
        {
            return threads;
        }

        return Math.Min(threads, PackedLayer.PanelsFor(spec.Cell, spec.HiddenSize) * spec.NumDirections);
    }
}
