using System;
using Recurrent.Kernels;
using Recurrent.Kernels.Formats;
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
/// Given a <see cref="BpttTape"/> (a training call, in the call's layout), the same passes record what backpropagation needs:
/// the gate pass writes the activated gates back over the input projection in the tape's gate buffer, each tile keeps its
/// c_t / GRU <c>W_hn h + b_hn</c> / unprojected h, and every layer's output and dropout mask stay in the tape.
/// </summary>
internal static unsafe class LayerDriver
{
    /// <summary>Runs the stack.</summary>
    /// <param name="spec">The layers.</param>
    /// <param name="layers">Packed weights, index <c>layer * D + direction</c>.</param>
    /// <param name="call">The call's rows, states and results.</param>
    /// <param name="dropout">Probability of zeroing an element between layers.</param>
    /// <param name="dropoutRandom">The mask source; <see langword="null"/> means no dropout (evaluation mode).</param>
    /// <param name="workspace">Scratch memory, grown as needed.</param>
    /// <param name="tape">A training call's record, or <see langword="null"/>.</param>
    /// <typeparam name="TFormat">How the weights are stored; a recording (training) call runs on float32 weights.</typeparam>
    public static void Forward<TFormat>(in RecurrentSpec spec, PackedLayer<TFormat>[] layers, in LayerCall call, float dropout, Random? dropoutRandom, RecurrentWorkspace workspace, BpttTape? tape = null)
        where TFormat : struct, IWeightFormat
    {
        int batch = call.Batch;
        int threads = ChooseThreads(spec, batch);
        int rows = workspace.SetSteps(call.SeqLen, batch, call.BatchSizes);
        workspace.Ensure(spec, rows, batch, threads);
        if (TFormat.QuantizesActivations)
        {
            int widestInput = Math.Max(spec.InputSize, spec.NumLayers > 1 ? spec.NumDirections * spec.OutputSize : 0);
            workspace.EnsureQuantized(spec, rows, batch, threads, TFormat.RowSlots(widestInput), TFormat.RowSlots(Math.Max(spec.OutputSize, spec.HiddenSize)));
        }

        LayerJob<TFormat> job = workspace.JobFor<TFormat>();
        int layerWidth = spec.NumDirections * spec.OutputSize;
        ReadOnlySpan<float> h0 = call.H0;
        ReadOnlySpan<int> sortedIndices = call.SortedIndices;
        if (!sortedIndices.IsEmpty && !h0.IsEmpty)
        {
            // The kernels read a step's initial h as strided rows, so h0 is put in sorted order once (a few rows per layer).
            h0 = workspace.SortStates(h0, spec.NumLayers * spec.NumDirections, batch, spec.OutputSize, sortedIndices);
        }

        if (tape is not null)
        {
            // Training runs on float32 weights (its backward reads the same PackedLayers for W rather than Wᵀ).
            tape.Begin(spec, layers as PackedLayer[] ?? throw new InvalidOperationException("a recorded forward runs on float32 weights"), call, rows, workspace, h0);
        }

        fixed (float* pInput = call.Input, pH0 = h0, pC0 = call.C0, pOutput = call.Output, pHN = call.HN, pCN = call.CN)
        fixed (float* pLayerA = workspace.LayerA, pLayerB = workspace.LayerB)
        fixed (int* pPerm = sortedIndices)
        {
            var run = new LayerRun
            {
                SeqLen = call.SeqLen,
                Batch = batch,
                Rows = rows,
                TimeMajor = call.TimeMajor,
                Input = pInput,
                H0 = pH0,
                C0 = pC0,
                HN = pHN,
                CN = pCN,
                Perm = pPerm,
            };
            for (int layer = 0; layer < spec.NumLayers; layer++)
            {
                bool last = layer == spec.NumLayers - 1;
                if (tape is not null)
                {
                    // Recording: every layer reads its input from and writes its h into the tape, which keeps both.
                    fixed (float* pRecordIn = tape.LayerInputs[layer], pRecordOut = tape.LayerOutputs[layer])
                    {
                        run.Input = pRecordIn;
                        run.Output = pRecordOut;
                        job.Set(spec, layers, layer, run, workspace, tape);
                        Run(job, threads);
                    }

                    if (!last)
                    {
                        tape.Dropout(layer + 1, dropout, dropoutRandom);
                    }

                    continue;
                }

                run.Output = last ? pOutput : (layer % 2 == 0 ? pLayerA : pLayerB);
                job.Set(spec, layers, layer, run, workspace, null);
                Run(job, threads);
                if (!last && dropoutRandom is not null && dropout > 0f)
                {
                    Dropout.Apply(new Span<float>(run.Output, rows * layerWidth), dropout, dropoutRandom);
                }

                run.Input = run.Output;
            }

            job.Clear();
        }

        if (tape is not null && !call.Output.IsEmpty)
        {
            tape.LayerOutputs[^1].AsSpan(0, rows * layerWidth).CopyTo(call.Output);
        }
    }

    private static void Run<TFormat>(LayerJob<TFormat> job, int threads)
        where TFormat : struct, IWeightFormat
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
