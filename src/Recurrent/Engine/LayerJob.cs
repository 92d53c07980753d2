using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Kernels;
using Recurrent.Kernels.Formats;
using Recurrent.Training;

namespace Recurrent.Engine;

/// <summary>One layer (both directions) as a parallel job; lives in the workspace and is re-aimed per layer, so calls allocate nothing.</summary>
/// <typeparam name="TFormat">How the layers' weights are stored.</typeparam>
internal sealed unsafe class LayerJob<TFormat> : IParallelJob
    where TFormat : struct, IWeightFormat
{
    private RecurrentSpec _spec;
    private PackedLayer<TFormat>[] _layers = [];
    private int _layer;
    private LayerRun _run;
    private RecurrentWorkspace? _ws;
    private BpttTape? _tape;

    /// <summary>Aims the job at one layer of a call (the caller's memory pinned until <see cref="Clear"/>).</summary>
    public void Set(in RecurrentSpec spec, PackedLayer<TFormat>[] layers, int layer, in LayerRun run, RecurrentWorkspace ws, BpttTape? tape)
    {
        _spec = spec;
        _layers = layers;
        _layer = layer;
        _run = run;
        _ws = ws;
        _tape = tape;
    }

    /// <inheritdoc/>
    public void Abort()
    {
        RecurrentWorkspace ws = _ws!;
        ws.Together.Break();
        ws.Apart[0].Break();
        ws.Apart[1].Break();
    }

    /// <summary>Drops the pointers once the caller's memory is unpinned.</summary>
    public void Clear()
    {
        _run = default;
        _layers = [];
        _tape = null;
    }

    public void Execute(int worker, int workers)
    {
        if (_tape is null)
        {
            Execute(worker, workers, default(NoRecording));
        }
        else
        {
            Execute(worker, workers, new TapeRecording(_tape));
        }
    }

    /// <summary>Shares the directions between the workers: each direction its own group when bidirectional, otherwise all workers on each in turn.</summary>
    private void Execute<TRecorder>(int worker, int workers, TRecorder recorder)
        where TRecorder : struct, IStepRecorder
    {
        RecurrentWorkspace ws = _ws!;
        if (workers == 1)
        {
            // Also the fallback when the pool was busy: the workspace's barriers may be sized for more workers.
            for (int direction = 0; direction < _spec.NumDirections; direction++)
            {
                RunDirection(recorder, direction, 0, 1, SpinBarrier.Alone, 0);
            }

            return;
        }

        if (_spec.NumDirections == 2 && workers >= 2)
        {
            int firstGroup = workers / 2;
            bool reverse = worker >= firstGroup;
            RunDirection(recorder, reverse ? 1 : 0, reverse ? worker - firstGroup : worker, reverse ? workers - firstGroup : firstGroup, ws.Apart[reverse ? 1 : 0], worker);
            return;
        }

        for (int direction = 0; direction < _spec.NumDirections; direction++)
        {
            RunDirection(recorder, direction, worker, workers, ws.Together, worker);
        }
    }

    private static (int Start, int End) Share(int count, int rank, int size) => ((count * rank) / size, (count * (rank + 1)) / size);

    /// <summary>
    /// This worker's rows when the batch is split by rows: whole blocks of 4, balanced by the steps each row runs
    /// (a packed batch's rows are sorted longest first, so equal counts would leave the last workers idle).
    /// </summary>
    private static (int Start, int End) ShareRows(ReadOnlySpan<int> rowLengths, int rank, int size)
    {
        long total = 0;
        foreach (int length in rowLengths)
        {
            total += length;
        }

        long from = (total * rank) / size;
        long to = (total * (rank + 1)) / size;
        int start = -1;
        int end = rowLengths.Length;
        long done = 0;
        for (int b0 = 0; b0 < rowLengths.Length; b0 += 4)
        {
            if (start < 0 && done >= from)
            {
                start = b0;
            }

            if (done >= to && rank < size - 1)
            {
                end = b0;
                break;
            }

            for (int b = b0; b < Math.Min(b0 + 4, rowLengths.Length); b++)
            {
                done += rowLengths[b];
            }
        }

        return start < 0 ? (end, end) : (start, Math.Max(start, end));
    }

    /// <summary>
    /// One worker's pass over one direction of the layer, in phases: the input projection of its panels, the initial cell
    /// state, then per step the recurrent product and gate math tile by tile (and the projection), then the final states.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunDirection<TRecorder>(TRecorder recorder, int direction, int rank, int size, SpinBarrier barrier, int slot)
        where TRecorder : struct, IStepRecorder
    {
        int index = (_layer * _spec.NumDirections) + direction;
        ref float gates = ref TRecorder.Records
            ? ref MemoryMarshal.GetArrayDataReference(recorder.Gates(index))
            : ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ws!.Gates), direction * _run.Rows * _layers[index].PackedGateSize);
        var pass = new DirectionPass(this, direction, rank, size, slot, ref gates);
        ProjectInputs(pass, rank, size, barrier);
        if (rank == 0)
        {
            LoadCellState(pass);
        }

        barrier.SignalAndWait();

        // A row's h_{t-1} is the previous step's output row, or its initial state at the step it starts: step 0 going
        // forward; going backward, the step at its own end (a packed batch shrinks, so rows join the reverse pass late).
        ref float hPrev = ref pass.HInit;
        nint ldhp = pass.HOut;
        for (int step = 0; step < _run.SeqLen; step++)
        {
            int t = direction == 0 ? step : _run.SeqLen - 1 - step;
            int active = pass.StepRows[t];
            int carried = direction == 0 ? (step == 0 ? 0 : active) : (t + 1 < _run.SeqLen ? pass.StepRows[t + 1] : 0);
            int end = Math.Min(pass.Re, active);
            ref float dst = ref pass.Output(t);
            Tiles(pass, recorder, t, carried, end, ref hPrev, ldhp, ref dst);
            if (!pass.SplitRows)
            {
                barrier.SignalAndWait();
            }

            if (pass.W.WeightHR is not null)
            {
                ProjectOutputs(pass, end, ref dst);
                if (!pass.SplitRows)
                {
                    barrier.SignalAndWait();
                }
            }

            hPrev = ref dst;
            ldhp = pass.Ldh;
        }

        if (rank == 0 || pass.SplitRows)
        {
            StoreFinalStates(pass);
        }
    }

    /// <summary>
    /// The input projection of every row, this worker's panels: gates = x·W_ihᵀ + (b_ih + b_hh). A format that quantizes
    /// its operand (int8) first has the direction's workers quantize a share of the rows each, then meet.
    /// </summary>
    private void ProjectInputs(in DirectionPass pass, int rank, int size, SpinBarrier barrier)
    {
        PackedLayer<TFormat> w = pass.W;
        int rows = _run.Rows, gp = w.PackedGateSize, pw = w.PanelWidth, inputSize = _spec.LayerInputSize(_layer);
        ReadOnlySpan<float> a = new(_run.Input, rows * inputSize);
        int lda = inputSize;
        if (TFormat.QuantizesActivations)
        {
            lda = TFormat.RowSlots(inputSize);
            (int r0, int r1) = Share(rows, rank, size);
            TFormat.QuantizeRows(ref Unsafe.AsRef<float>(_run.Input + ((nint)r0 * inputSize)), inputSize, r1 - r0, inputSize, ref Unsafe.Add(ref pass.QuantInput, (nint)r0 * lda), lda);
            barrier.SignalAndWait();
            a = MemoryMarshal.CreateReadOnlySpan(ref pass.QuantInput, rows * lda);
        }

        DenseGemm.MultiplyPanels(a, rows, lda, w.WeightIH, MemoryMarshal.CreateSpan(ref pass.Gates, rows * gp), gp, pass.P0, pass.P1, accumulate: false);
        if (pass.P1 > pass.P0)
        {
            ReadOnlySpan<float> bias = w.Bias.AsSpan(pass.P0 * pw, (pass.P1 - pass.P0) * pw);
            for (int r = 0; r < rows; r++)
            {
                Span<float> row = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref pass.Gates, (r * gp) + (pass.P0 * pw)), bias.Length);
                TensorPrimitives.Add(row, bias, row);
            }
        }
    }

    /// <summary>The running cell state starts at c0 (or zeros), and the unprojected h of an LSTM with proj_size at zeros.</summary>
    private void LoadCellState(in DirectionPass pass)
    {
        int batch = _run.Batch, hidden = _spec.HiddenSize, padded = pass.PaddedHidden;
        MemoryMarshal.CreateSpan(ref pass.Cell, batch * padded).Clear();
        if (_run.C0 is not null)
        {
            for (int b = 0; b < batch; b++)
            {
                new ReadOnlySpan<float>(_run.C0 + (((pass.Index * batch) + Caller(b)) * hidden), hidden).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref pass.Cell, b * padded), hidden));
            }
        }

        if (pass.W.WeightHR is not null)
        {
            MemoryMarshal.CreateSpan(ref pass.HiddenFull, batch * padded).Clear();
        }
    }

    /// <summary>
    /// Step t for this worker's rows and panels: per panel, <c>h_{t-1}·W_hhᵀ</c> into the tile (4 rows at a time, K-blocked
    /// when several row blocks share the panel), then the cell's gate math on the tile while it is in L1, writing h_t (or
    /// the unprojected h) and c_t; the recorder keeps what the next step overwrites.
    /// </summary>
    private void Tiles<TRecorder>(in DirectionPass pass, TRecorder recorder, int t, int carried, int end, ref float hPrev, nint ldhp, ref float dst)
        where TRecorder : struct, IStepRecorder
    {
        PackedLayer<TFormat> w = pass.W;
        int pw = w.PanelWidth, k = w.HiddenIn, hidden = _spec.HiddenSize, padded = pass.PaddedHidden, hOut = pass.HOut, rs = pass.Rs;
        int rowBase = _run.TimeMajor ? pass.StepOffsets[t] : t;
        ref float ig = ref Unsafe.Add(ref pass.Gates, rowBase * w.PackedGateSize);
        ref float target = ref w.WeightHR is not null ? ref pass.HiddenFull : ref dst;
        nint ldt = w.WeightHR is not null ? padded : pass.Ldh;
        ref float bhn = ref w.BiasHN is null ? ref pass.Tile : ref MemoryMarshal.GetArrayDataReference(w.BiasHN);
        ref float tile = ref pass.Tile;
        int kc = TFormat.KBlock(pw);
        bool blocked = end - rs > 4 && k > kc;

        // The products' left operand: h_{t-1} itself, or this worker's rows of it quantized (int8), row r at r · lda.
        ref float carriedA = ref hPrev, startA = ref pass.HInit;
        nint carriedLda = ldhp, startLda = hOut;
        if (TFormat.QuantizesActivations)
        {
            // This worker's rows [rs, end) (none when a packed batch has shrunk below its share): carried, then starting.
            int lda = TFormat.RowSlots(k), stop = Math.Max(rs, end), split = Math.Clamp(carried, rs, stop);
            TFormat.QuantizeRows(ref Unsafe.Add(ref hPrev, rs * ldhp), ldhp, split - rs, k, ref Unsafe.Add(ref pass.QuantRows, rs * lda), lda);
            TFormat.QuantizeRows(ref Unsafe.Add(ref pass.HInit, split * hOut), hOut, stop - split, k, ref Unsafe.Add(ref pass.QuantRows, split * lda), lda);
            carriedA = ref pass.QuantRows;
            startA = ref pass.QuantRows;
            (carriedLda, startLda) = (lda, lda);
        }

        // One row (batch 1, or the last row of a packed batch): two panels a pass, eight FMA chains instead of four.
        bool pairs = end - rs == 1 && !TFormat.QuantizesActivations && PanelKernels.PairsPanels(pw);
        for (int p = pass.Sp0; p < pass.Sp1; p++)
        {
            ref byte panel = ref w.WeightHH.Panel(p);
            int unit0 = p * w.Unit;
            int valid = Math.Min(w.Unit, hidden - unit0);
            if (pairs && p + 1 < pass.Sp1)
            {
                bool carriedRow = rs < carried;
                ref float hRow = ref carriedRow ? ref hPrev : ref pass.HInit;
                nint ldRow = carriedRow ? ldhp : hOut;
                PanelKernels.MultiplyRowPair<TFormat>(ref Unsafe.Add(ref hRow, rs * ldRow), ref panel, ref w.WeightHH.Panel(p + 1), k, pw, ref tile);
                for (int q = 0; q < 2; q++)
                {
                    int u0 = (p + q) * w.Unit;
                    var gates = new GateEpilogue<TRecorder>(
                        w, recorder, pass.Index, t, u0, Math.Min(w.Unit, hidden - u0), ref Unsafe.Add(ref ig, (p + q) * pw), pass.Ldig, ref Unsafe.Add(ref bhn, w.BiasHN is null ? 0 : u0), ref Unsafe.Add(ref pass.Cell, u0), padded, ref Unsafe.Add(ref hRow, u0), ldRow, ref Unsafe.Add(ref target, u0), ldt);
                    gates.Block(rs, 1, ref Unsafe.Add(ref tile, q * pw));
                }

                p++;
                continue;
            }

            // Two row segments: rows carried from the previous step, then rows starting here from their initial h.
            for (int segment = 0; segment < 2; segment++)
            {
                ref float hp = ref segment == 0 ? ref hPrev : ref pass.HInit;
                nint ld = segment == 0 ? ldhp : hOut;
                ref float operand = ref segment == 0 ? ref carriedA : ref startA;
                nint lda = segment == 0 ? carriedLda : startLda;
                int from = segment == 0 ? rs : Math.Max(rs, carried);
                int to = segment == 0 ? Math.Min(end, carried) : end;
                var gatesOnTile = new GateEpilogue<TRecorder>(
                    w, recorder, pass.Index, t, unit0, valid, ref Unsafe.Add(ref ig, p * pw), pass.Ldig, ref Unsafe.Add(ref bhn, w.BiasHN is null ? 0 : unit0), ref Unsafe.Add(ref pass.Cell, unit0), padded, ref Unsafe.Add(ref hp, unit0), ld, ref Unsafe.Add(ref target, unit0), ldt);
                DenseGemm.PanelBlocks<TFormat, GateEpilogue<TRecorder>>(ref operand, lda, from, to, ref panel, k, pw, ref tile, pw, rs, blocked, reuseTile: true, accumulate: false, ref gatesOnTile);
            }
        }
    }

    /// <summary>
    /// The step's epilogue: the cell's gate math on a row block's tile while it is in L1, writing h_t (or the unprojected h)
    /// and c_t; the recorder keeps what the next step overwrites. Each reference is at unit 0 of this panel, row 0.
    /// </summary>
    private readonly ref struct GateEpilogue<TRecorder>(
        PackedLayer<TFormat> w, TRecorder recorder, int index, int t, int unit0, int valid, ref float ig, nint ldig, ref float bhn, ref float cell, nint ldCell, ref float hp, nint ld, ref float target, nint ldt)
        : ITileEpilogue
        where TRecorder : struct, IStepRecorder
    {
        private readonly ref float _ig = ref ig, _bhn = ref bhn, _cell = ref cell, _hp = ref hp, _target = ref target;

        public void Block(int r0, int rows, ref float tile)
        {
            FusedGates.Apply(
                w.Kind,
                new GateTile(
                    rows,
                    w.Unit,
                    valid,
                    ref tile,
                    w.PanelWidth,
                    ref Unsafe.Add(ref _ig, r0 * ldig),
                    ldig,
                    ref _bhn,
                    ref Unsafe.Add(ref _cell, r0 * ldCell),
                    ldCell,
                    ref Unsafe.Add(ref _hp, r0 * ld),
                    ld,
                    ref Unsafe.Add(ref _target, r0 * ldt),
                    ldt),
                TRecorder.Records);
            if (TRecorder.Records)
            {
                recorder.Keep(index, t, r0, rows, unit0, valid, ref Unsafe.Add(ref _cell, (r0 * ldCell) - unit0), ldCell, ref tile, w.PanelWidth, w.Unit, ref Unsafe.Add(ref _target, (r0 * ldt) - unit0), ldt);
            }
        }
    }

    /// <summary>LSTM with proj_size: <c>h = h_full·W_hrᵀ</c> for this worker's projection panels and rows, straight into the output rows.</summary>
    private static void ProjectOutputs(in DirectionPass pass, int end, ref float dst)
    {
        int rs = pass.Rs, padded = pass.PaddedHidden;
        if (end > rs)
        {
            ref float a = ref Unsafe.Add(ref pass.HiddenFull, rs * padded);
            int lda = padded;
            if (TFormat.QuantizesActivations)
            {
                int hidden = pass.W.Hidden;
                lda = TFormat.RowSlots(hidden);
                TFormat.QuantizeRows(ref a, padded, end - rs, hidden, ref Unsafe.Add(ref pass.QuantRows, rs * lda), lda);
                a = ref Unsafe.Add(ref pass.QuantRows, rs * lda);
            }

            DenseGemm.MultiplyPanels(
                MemoryMarshal.CreateReadOnlySpan(ref a, (end - rs) * lda),
                end - rs,
                lda,
                pass.W.WeightHR!,
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, rs * pass.Ldh), (int)(((end - rs - 1) * pass.Ldh) + pass.HOut)),
                (int)pass.Ldh,
                pass.Q0,
                pass.Q1,
                accumulate: false);
        }
    }

    /// <summary>Each row's h_n (and c_n) is its state at the last step it ran: going forward, where the batch shrinks past it; backward, step 0.</summary>
    private void StoreFinalStates(in DirectionPass pass)
    {
        int batch = _run.Batch, hOut = pass.HOut, hidden = _spec.HiddenSize, seqLen = _run.SeqLen;
        int lastStep = pass.Direction == 0 ? seqLen : 1;
        for (int t = 0; t < lastStep; t++)
        {
            int next = pass.Direction == 0 && t + 1 < seqLen ? pass.StepRows[t + 1] : 0;
            ref float final = ref pass.Output(t);
            for (int b = Math.Max(pass.Rs, next); b < Math.Min(pass.Re, pass.StepRows[t]); b++)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref final, b * pass.Ldh), hOut).CopyTo(new Span<float>(_run.HN + (((pass.Index * batch) + Caller(b)) * hOut), hOut));
                if (_spec.Cell.HasCellState)
                {
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref pass.Cell, b * pass.PaddedHidden), hidden).CopyTo(new Span<float>(_run.CN + (((pass.Index * batch) + Caller(b)) * hidden), hidden));
                }
            }
        }
    }

    /// <summary>
    /// The plan of one worker's pass over one direction (the step plan): its buffers, the row strides of the layout, and
    /// its share of the work: panels of hidden units (small batch: workers meet every step) or blocks of rows (large
    /// batch: a row's h_t depends only on its own h_{t-1}, so the time loop needs no barrier).
    /// </summary>
    private readonly ref struct DirectionPass
    {
        public readonly PackedLayer<TFormat> W;
        public readonly int Direction, Index, HOut, PaddedHidden;
        public readonly nint Ldh, Ldig;
        public readonly ReadOnlySpan<int> StepRows, StepOffsets;

        /// <summary>This worker's input-projection panels, rows, step panels and projection panels.</summary>
        public readonly int P0, P1, Rs, Re, Sp0, Sp1, Q0, Q1;
        public readonly bool SplitRows;

        /// <summary>The gate buffer (rows × packed gates), this worker's tile, the running c (and unprojected h), h0 (or zeros), the output.</summary>
        public readonly ref float Gates, Tile, Cell, HiddenFull, HInit, OutBase;

        /// <summary>A quantizing format's operands (int8): this direction's quantized input rows; this worker's quantized h rows.</summary>
        public readonly ref float QuantInput, QuantRows;

        private readonly int _layerWidth;
        private readonly bool _timeMajor;

        public DirectionPass(LayerJob<TFormat> job, int direction, int rank, int size, int slot, ref float gates)
        {
            RecurrentSpec spec = job._spec;
            RecurrentWorkspace ws = job._ws!;
            Direction = direction;
            Index = (job._layer * spec.NumDirections) + direction;
            W = job._layers[Index];
            HOut = spec.OutputSize;
            PaddedHidden = W.Panels * W.Unit;
            _layerWidth = spec.NumDirections * HOut;
            _timeMajor = job._run.TimeMajor;
            int rowStride = job._run.TimeMajor ? 1 : job._run.SeqLen;
            Ldh = rowStride * _layerWidth;
            Ldig = rowStride * W.PackedGateSize;
            StepRows = ws.StepRows.AsSpan(0, job._run.SeqLen);
            StepOffsets = ws.StepOffsets.AsSpan(0, job._run.SeqLen);
            Gates = ref gates;
            Tile = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.Tiles), slot * ws.TileStride);
            Cell = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.Cell), direction * job._run.Batch * PaddedHidden);
            HiddenFull = ref spec.ProjSize > 0
                ? ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.HiddenFull), direction * job._run.Batch * PaddedHidden)
                : ref Cell;
            HInit = ref job._run.H0 is null ? ref MemoryMarshal.GetArrayDataReference(ws.Zeros) : ref Unsafe.AsRef<float>(job._run.H0 + (Index * job._run.Batch * HOut));
            OutBase = ref Unsafe.AsRef<float>(job._run.Output);
            QuantInput = ref MemoryMarshal.GetArrayDataReference(ws.Quantized);
            QuantRows = ref QuantInput;
            if (TFormat.QuantizesActivations)
            {
                QuantInput = ref Unsafe.Add(ref QuantInput, (nint)(direction * ws.QuantizedInputStride));
                QuantRows = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ws.Quantized), (nint)((spec.NumDirections * ws.QuantizedInputStride) + (slot * ws.QuantizedRowsStride)));
            }
            (P0, P1) = Share(W.Panels, rank, size);
            SplitRows = size > 1 && job._run.Batch >= ThreadPolicy.RowSplitMinRows * size;
            (Rs, Re) = (0, job._run.Batch);
            (Sp0, Sp1) = (P0, P1);
            (Q0, Q1) = W.WeightHR is not null ? Share(W.ProjPanels, rank, size) : (0, 0);
            if (SplitRows)
            {
                (Rs, Re) = ShareRows(ws.RowLengths.AsSpan(0, job._run.Batch), rank, size);
                (Sp0, Sp1) = (0, W.Panels);
                (Q0, Q1) = (0, W.WeightHR is not null ? W.ProjPanels : 0);
            }
        }

        /// <summary>Step t's first output row, this direction's half.</summary>
        public ref float Output(int t) => ref Unsafe.Add(ref OutBase, ((_timeMajor ? StepOffsets[t] : t) * _layerWidth) + (Direction * HOut));
    }

    /// <summary>The caller's batch index of sorted row <paramref name="b"/> (packed input with enforceSorted off).</summary>
    private int Caller(int b) => _run.Perm is null ? b : _run.Perm[b];
}
