using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Text;
using System.Threading;
using Recurrent.Engine;
using Recurrent.Internals;
using Recurrent.Kernels.Cells;
using Recurrent.Training;

namespace Recurrent;

/// <summary>
/// What <see cref="Rnn"/>, <see cref="Lstm"/> and <see cref="Gru"/> share, like PyTorch's <c>RNNBase</c>:
/// constructor checks, parameters in PyTorch's order and shapes, input and state checks, and one forward path
/// through the layer driver in which the cell kind is the only difference.
/// </summary>
public abstract class RnnBase : Module
{
    private readonly RecurrentSpec _spec;
    private readonly LayerWeights[] _weights;
    private readonly Random _random;
    private readonly WorkspacePool _workspaces = new();
    private PackedLayer[] _packed = [];
    private readonly Parameter?[][] _parameterSets;

    /// <summary>A quantized copy's weights (it has no parameters); null for a float32 module.</summary>
    private QuantizedLayers? _quantized;

    /// <summary>The forwards recorded for Backward (newest last) and the backward's temporaries, reused from step to step.</summary>
    private readonly TrainingMemory<ForwardRecord> _training = new();

    /// <inheritdoc/>
    private protected override void ReleaseTrainingMemory()
    {
        _training.Release();
        foreach (PackedLayer layer in _packed)
        {
            layer.ReleaseBackward();
        }
    }

    private protected RnnBase(
        CellKind kind, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst, float dropout, bool bidirectional, int projSize, int? seed)
    {
        if (!(dropout >= 0f && dropout <= 1f))
        {
            ThrowHelper.OutOfRange(
                nameof(dropout), dropout, "dropout should be a number in range [0, 1] representing the probability of an element being zeroed");
        }

        if (dropout > 0f && numLayers == 1)
        {
            Trace.TraceWarning(string.Create(
                CultureInfo.InvariantCulture,
                $"dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects num_layers greater than 1, but got dropout={dropout} and num_layers={numLayers}"));
        }

        if (inputSize < 0)
        {
            ThrowHelper.OutOfRange(nameof(inputSize), inputSize, "input_size must be zero or greater");
        }

        if (hiddenSize <= 0)
        {
            ThrowHelper.OutOfRange(nameof(hiddenSize), hiddenSize, "hidden_size must be greater than zero");
        }

        if (numLayers <= 0)
        {
            ThrowHelper.OutOfRange(nameof(numLayers), numLayers, "num_layers must be greater than zero");
        }

        if (projSize < 0)
        {
            ThrowHelper.OutOfRange(nameof(projSize), projSize, "proj_size should be a positive integer or zero to disable projections");
        }

        if (projSize >= hiddenSize)
        {
            ThrowHelper.OutOfRange(nameof(projSize), projSize, "proj_size has to be smaller than hidden_size");
        }

        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Bias = bias;
        BatchFirst = batchFirst;
        Dropout = dropout;
        Bidirectional = bidirectional;
        _spec = RecurrentSpec.Checked(kind, inputSize, hiddenSize, projSize, numLayers, bidirectional ? 2 : 1);
        _random = Init.CreateRandom(seed);

        int d = _spec.NumDirections;
        int gateSize = _spec.GateSize;

        // Every weight's size, then the whole model's, is checked before any is allocated (a too-large model fails without
        // taking gigabytes first). Layers after the first all have the same shapes.
        double floats = 0;
        for (int layer = 0; layer < Math.Min(numLayers, 2); layer++)
        {
            string suffix = string.Create(CultureInfo.InvariantCulture, $"_l{layer}");
            Parameter.CheckSize("weight_ih" + suffix, [gateSize, _spec.LayerInputSize(layer)]);
            Parameter.CheckSize("weight_hh" + suffix, [gateSize, _spec.OutputSize]);
            Parameter.CheckSize("weight_hr" + suffix, [projSize, hiddenSize]);
            double layerFloats = ((double)gateSize * (_spec.LayerInputSize(layer) + _spec.OutputSize + 2)) + ((double)projSize * hiddenSize);
            floats += layerFloats * d * (layer == 0 ? 1 : numLayers - 1);
        }

        Parameter.CheckModelSize(
            floats, 5.0 * numLayers * d, nameof(numLayers), string.Create(
                CultureInfo.InvariantCulture,
                $"{(kind == CellKind.Lstm ? "LSTM" : kind == CellKind.Gru ? "GRU" : "RNN")} with num_layers={numLayers}{(d == 2 ? ", bidirectional" : "")}, hidden_size={hiddenSize}"));
        _weights = new LayerWeights[numLayers * d];
        _parameterSets = new Parameter?[numLayers * d][];

        for (int layer = 0; layer < numLayers; layer++)
        {
            for (int direction = 0; direction < d; direction++)
            {
                string suffix = string.Create(CultureInfo.InvariantCulture, $"_l{layer}{(direction == 1 ? "_reverse" : "")}");
                Parameter wih = Register("weight_ih" + suffix, gateSize, _spec.LayerInputSize(layer));
                Parameter whh = Register("weight_hh" + suffix, gateSize, _spec.OutputSize);
                Parameter? bih = bias ? Register("bias_ih" + suffix, gateSize) : null;
                Parameter? bhh = bias ? Register("bias_hh" + suffix, gateSize) : null;
                Parameter? whr = projSize > 0 ? Register("weight_hr" + suffix, projSize, hiddenSize) : null;
                _weights[(layer * d) + direction] = new LayerWeights(wih.Values, whh.Values, bih?.Values, bhh?.Values, whr?.Values);
                _parameterSets[(layer * d) + direction] = [wih, whh, bih, bhh, whr];
            }
        }

        ResetParameters();
    }

    /// <summary>
    /// A quantized, inference-only copy of <paramref name="source"/>: the same configuration, its current weights packed
    /// in <paramref name="precision"/>, no parameters (nothing of the float weights is kept).
    /// </summary>
    private protected RnnBase(RnnBase source, WeightPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(source);
        InputSize = source.InputSize;
        HiddenSize = source.HiddenSize;
        NumLayers = source.NumLayers;
        Bias = source.Bias;
        BatchFirst = source.BatchFirst;
        Dropout = source.Dropout;
        Bidirectional = source.Bidirectional;
        _spec = source._spec;
        _random = source._random;
        _weights = [];
        _parameterSets = [];
        _quantized = QuantizedLayers.CopyOf(source, source._quantized, _spec, source._weights, precision, nameof(precision));
        SetTraining(source.Training);
    }

    /// <summary>The number of expected features in the input x (<c>input_size</c>).</summary>
    public int InputSize { get; }

    /// <summary>The number of features in the hidden state h (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; }

    /// <summary>The number of stacked recurrent layers (<c>num_layers</c>).</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have <c>b_ih</c> and <c>b_hh</c> (<c>bias</c>).</summary>
    public bool Bias { get; }

    /// <summary>Whether batched input and output are <c>(N, L, H)</c> rather than <c>(L, N, H)</c>; h_n and c_n never are.</summary>
    public bool BatchFirst { get; }

    /// <summary>The probability of zeroing each element of every layer's output but the last, in training mode.</summary>
    public float Dropout { get; }

    /// <summary>Whether each layer also runs the sequence backwards (<c>bidirectional</c>).</summary>
    public bool Bidirectional { get; }

    internal RecurrentSpec Spec => _spec;

    /// <summary>How the weights the forward reads are stored: <see cref="WeightPrecision.Float32"/>, or a quantized copy's precision.</summary>
    public WeightPrecision Precision => _quantized?.Precision ?? WeightPrecision.Float32;

    /// <summary>
    /// Bytes this module holds for its weights: a float32 module its parameters and their packed copy for the kernels, a
    /// quantized copy only its packed weights (and float32 biases).
    /// </summary>
    public long WeightBytes
    {
        get
        {
            if (_quantized is not null)
            {
                return _quantized.Bytes;
            }

            long bytes = 0;
            foreach (Parameter p in Parameters())
            {
                bytes += (long)p.Values.Length * sizeof(float);
            }

            foreach (PackedLayer layer in _packed)
            {
                bytes += layer.Bytes;
            }

            return bytes;
        }
    }

    /// <summary>
    /// Saves a quantized copy's weights as a safetensors file under PyTorch's <c>state_dict</c> keys, the biases as
    /// <c>F32</c> and the weights in the copy's precision, exactly the values the forward multiplies by: bfloat16 as
    /// <c>BF16</c> (half the bytes of float32); int8 as <c>I8</c> integers in [-127, 127] with each row's float32 scale
    /// under the weight's key + <c>_scale</c> (<c>weight_ih_l0_scale</c>, shape <c>(rows)</c>; the weight is
    /// <c>q · scale</c>), a quarter of the bytes. The metadata entry <c>recurrent.weights</c> names the precision.
    /// <see cref="LoadQuantized(string)"/> reads it back.
    /// </summary>
    /// <exception cref="InvalidOperationException">This module is float32 (save it with <see cref="StateDict.Save(string, IEnumerable{KeyValuePair{string, Tensor{float}}})"/>).</exception>
    public void SaveQuantized(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        QuantizedLayers layers = QuantizedOrThrow();
        Checkpoints.StorageType weights = layers.Precision == WeightPrecision.Int8 ? Checkpoints.StorageType.Char : Checkpoints.StorageType.BFloat16;
        using FileStream stream = File.Create(path);
        Checkpoints.SafeTensors.Write(
            stream,
            layers.State(_spec),
            name => name.StartsWith("weight_", StringComparison.Ordinal) && !name.EndsWith(QuantizedLayers.ScaleSuffix, StringComparison.Ordinal) ? weights : Checkpoints.StorageType.Float,
            [new("recurrent.weights", layers.Precision.ToString())]);
    }

    /// <summary>
    /// Replaces a quantized copy's weights with those in a file written by <see cref="SaveQuantized"/> (or any checkpoint
    /// <see cref="StateDict.Load(string)"/> reads with float32 weights, which are then quantized as
    /// <see cref="Lstm.Quantize"/> does), checked as <c>load_state_dict</c> checks (strict): so a service builds
    /// <c>new Lstm(…).Quantize(WeightPrecision.Int8)</c> and loads its weights without ever holding the float32
    /// checkpoint. An int8 file gives back exactly the saved integers and scales. A forward running meanwhile sees all
    /// the old or all the new weights.
    /// </summary>
    /// <exception cref="InvalidOperationException">This module is float32 (load with <see cref="Module.LoadStateDict"/>).</exception>
    /// <exception cref="ArgumentException">A key is missing or unexpected, a shape differs, or an int8 weight or scale is out of range.</exception>
    public void LoadQuantized(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        QuantizedLayers current = QuantizedOrThrow();
        OrderedDictionary<string, Tensor<float>> state = Recurrent.StateDict.Load(path);

        // An int8 copy reads its own files (integers and scales) or a float32 checkpoint (no scales at all).
        bool scaled = current.Precision == WeightPrecision.Int8 && state.Keys.Any(k => k.EndsWith(QuantizedLayers.ScaleSuffix, StringComparison.Ordinal));
        OrderedDictionary<string, Tensor<float>> expected = current.State(_spec);
        var shapes = new List<KeyValuePair<string, int[]>>(expected.Count);
        foreach ((string key, Tensor<float> tensor) in expected)
        {
            if (scaled || !key.EndsWith(QuantizedLayers.ScaleSuffix, StringComparison.Ordinal))
            {
                shapes.Add(new(key, Array.ConvertAll(tensor.Lengths.ToArray(), d => (int)d)));
            }
        }

        CheckState(TorchName, shapes, state, strict: true);
        LayerWeights[] weights = QuantizedLayers.FromState(_spec, state, scaled, nameof(path));
        Volatile.Write(ref _quantized, QuantizedLayers.Create(_spec, weights, current.Precision, nameof(path)));
    }

    private QuantizedLayers QuantizedOrThrow() =>
        Volatile.Read(ref _quantized)
        ?? throw new InvalidOperationException($"{this} is a float32 module: save and load its weights with StateDict and LoadStateDict; Quantize makes a copy that uses these");

    /// <summary>
    /// Re-packs the weights for the kernels, like PyTorch's <c>flatten_parameters()</c>. <see cref="Module.LoadStateDict"/>
    /// and <see cref="ResetParameters"/> do it for you; call it after writing to a <see cref="Parameter.Data"/> directly.
    /// </summary>
    public void FlattenParameters() => OnParametersChanged();

    /// <inheritdoc/>
    protected override void OnParametersChanged()
    {
        var packed = new PackedLayer[_weights.Length];
        for (int i = 0; i < packed.Length; i++)
        {
            packed[i] = new PackedLayer(_spec.Kind, _spec.LayerInputSize(i / _spec.NumDirections), HiddenSize, _spec.OutputSize, _weights[i], _packed.Length > i ? _packed[i] : null);
        }

        _packed = packed;
    }

    /// <summary>Draws every parameter from U(-1/√hidden_size, 1/√hidden_size), as <c>reset_parameters</c> does.</summary>
    public void ResetParameters()
    {
        float bound = 1f / MathF.Sqrt(HiddenSize);
        foreach (Parameter p in Parameters())
        {
            Init.Uniform(p.Values, bound, _random);
        }

        OnParametersChanged();
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{InputSize}, {HiddenSize}");
        if (_spec.ProjSize != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $", proj_size={_spec.ProjSize}");
        }

        if (NumLayers != 1)
        {
            sb.Append(CultureInfo.InvariantCulture, $", num_layers={NumLayers}");
        }

        if (_spec.Kind == CellKind.RnnRelu)
        {
            sb.Append(", nonlinearity=relu");
        }

        if (!Bias)
        {
            sb.Append(", bias=False");
        }

        if (BatchFirst)
        {
            sb.Append(", batch_first=True");
        }

        if (Dropout != 0f)
        {
            sb.Append(", dropout=").Append(PythonFloat(Dropout));
        }

        if (Bidirectional)
        {
            sb.Append(", bidirectional=True");
        }

        return sb.ToString();
    }

    /// <summary>Checks the input and states in PyTorch's order (the one validation of the tensor path), then runs the engine.</summary>
    private protected (Tensor<float> Output, Tensor<float> HN, Tensor<float>? CN) ForwardCore(Tensor<float> input, Tensor<float>? h0, Tensor<float>? c0)
    {
        SequenceShape shape = SequenceShape.Of(input, BatchFirst, TorchName);
        shape.CheckStateRank(h0, c0);
        shape.CheckFeatures(InputSize);
        CheckStateTensors(shape, h0, c0);

        shape.CheckSeqLen();

        SequenceShape outShape = shape.WithFeatures(_spec.NumDirections * _spec.OutputSize);
        float[] output = GC.AllocateUninitializedArray<float>(outShape.ElementCount);
        (Tensor<float> hN, Tensor<float>? cN) = RunTensors(TensorData.Read(input), shape, h0, c0, output, default, default);
        return (Tensor.Create(output, outShape.ToLengths()), hN, cN);
    }

    /// <summary>Runs checked tensors into <paramref name="output"/> and fresh h_n (and c_n), recording when the module trains.</summary>
    private (Tensor<float> HN, Tensor<float>? CN) RunTensors(
        ReadOnlySpan<float> input, SequenceShape shape, Tensor<float>? h0, Tensor<float>? c0, float[] output, ReadOnlySpan<int> batchSizes, ReadOnlySpan<int> sortedIndices)
    {
        bool lstm = _spec.Cell.HasCellState;
        int numStates = NumLayers * _spec.NumDirections, hOut = _spec.OutputSize;
        var hN = new float[numStates * shape.Batch * hOut];
        float[] cN = lstm ? new float[numStates * shape.Batch * HiddenSize] : [];
        Run(
            input,
            shape,
            h0 is null ? default : TensorData.Read(h0),
            c0 is null ? default : TensorData.Read(c0),
            output,
            hN,
            cN,
            null,
            batchSizes,
            sortedIndices,
            record: Training && AnyRequiresGrad());
        return (Tensor.Create(hN, shape.StateLengths(numStates, hOut)), lstm ? Tensor.Create(cN, shape.StateLengths(numStates, HiddenSize)) : null);
    }

    /// <summary>
    /// Backpropagation through time for the last <c>Forward</c> run in training mode (<see cref="ModuleExtensions.Train{T}"/>):
    /// adds each parameter's gradient to its <see cref="Parameter.Grad"/> and returns the gradients of the input and the
    /// initial states, in the shapes and layout of the forward's tensors. The record of that forward is released.
    /// </summary>
    /// <param name="gradOutput">dL/d(output), the forward output's shape.</param>
    /// <param name="gradHN">dL/dh_n, or null for zeros.</param>
    /// <param name="gradCN">dL/dc_n (LSTM), or null for zeros.</param>
    /// <exception cref="InvalidOperationException">No training-mode forward was recorded.</exception>
    /// <exception cref="ArgumentException">A gradient's shape differs from its forward tensor's.</exception>
    private protected RnnGradients BackwardCore(Tensor<float> gradOutput, Tensor<float>? gradHN, Tensor<float>? gradCN)
    {
        if (gradOutput is null)
        {
            ThrowHelper.Null(nameof(gradOutput));
        }

        if (_quantized is not null)
        {
            throw new InvalidOperationException($"{this} has {Precision} weights: a quantized module is inference-only; train the float32 module and quantize it again");
        }

        ForwardRecord record = _training.Peek(TorchName);
        bool lstm = _spec.Cell.HasCellState;
        SequenceShape shape = record.Shape;
        int numStates = NumLayers * _spec.NumDirections;
        int hOut = _spec.OutputSize;
        SequenceShape outShape = shape.WithFeatures(_spec.NumDirections * hOut);
        int[]? batchSizes = record.BatchSizes, sorted = record.Sorted;
        int rows = batchSizes is null ? shape.SeqLen * shape.Batch : PackedChecks.Rows(batchSizes);

        SequenceShape.CheckGradient(gradOutput, batchSizes is null ? outShape.ToLengths() : [rows, _spec.NumDirections * hOut], nameof(gradOutput));
        if (gradHN is not null)
        {
            SequenceShape.CheckGradient(gradHN, shape.StateLengths(numStates, hOut), nameof(gradHN));
        }

        if (gradCN is not null)
        {
            SequenceShape.CheckGradient(gradCN, shape.StateLengths(numStates, HiddenSize), nameof(gradCN));
        }

        BpttTape tape = record.Tape;
        TrainingScratch scratch = _training.Scratch;
        (_, TrainingScratch memory) = _training.Pop(TorchName);

        // The backward pass adds straight into each parameter's Grad (a frozen one's into scratch).
        var grads = new LayerWeights[_weights.Length];
        for (int i = 0; i < grads.Length; i++)
        {
            grads[i] = scratch.GradTargets(_parameterSets[i], i);
        }

        // Every gradient is in the forward's own layout (the record's): dL/d(output) is read and dL/d(input) written as they are.
        float[] gradInput = new float[rows * InputSize];
        var gradH0 = new float[numStates * shape.Batch * hOut];
        float[] gradC0 = lstm ? new float[numStates * shape.Batch * HiddenSize] : [];
        // Packed: states and their gradients are in the caller's batch order outside, sorted order inside.
        int[] order = sorted ?? [];
        Bptt.Backward(
            _spec,
            _weights,
            tape,
            scratch,
            TensorData.Read(gradOutput),
            gradHN is null ? default : Permute(TensorData.Read(gradHN), numStates, shape.Batch, hOut, order, toSorted: true),
            gradCN is null ? default : Permute(TensorData.Read(gradCN), numStates, shape.Batch, HiddenSize, order, toSorted: true),
            grads,
            gradInput,
            gradH0,
            gradC0);
        gradH0 = Permute(gradH0, numStates, shape.Batch, hOut, order, toSorted: false);
        gradC0 = lstm ? Permute(gradC0, numStates, shape.Batch, HiddenSize, order, toSorted: false) : gradC0;
        _training.Return(memory);

        return new RnnGradients(
            Tensor.Create(gradInput, batchSizes is null ? shape.ToLengths() : [rows, InputSize]),
            Tensor.Create(gradH0, shape.StateLengths(numStates, hOut)),
            lstm ? Tensor.Create(gradC0, shape.StateLengths(numStates, HiddenSize)) : null);
    }

    /// <summary>A training-mode call's shape and record (packed input: its batch sizes and sorted order too).</summary>
    private sealed record ForwardRecord(SequenceShape Shape, BpttTape Tape, int[]? BatchSizes = null, int[]? Sorted = null);

    /// <summary>A reordered copy of states <c>(S, N, width)</c> (see <see cref="StateOrder.Permute"/>).</summary>
    private static float[] Permute(ReadOnlySpan<float> states, int numStates, int batch, int width, int[] sorted, bool toSorted)
    {
        float[] result = new float[states.Length];
        StateOrder.Permute(states, result, numStates, batch, width, sorted, toSorted);
        return result;
    }

    /// <summary>h0 and c0, when given, must be <c>(D*num_layers, N, H_out)</c> and <c>(D*num_layers, N, hidden_size)</c> (2-D unbatched).</summary>
    private void CheckStateTensors(SequenceShape shape, Tensor<float>? h0, Tensor<float>? c0)
    {
        int numStates = NumLayers * _spec.NumDirections;
        if (h0 is not null)
        {
            shape.CheckState(h0, numStates, _spec.OutputSize, _spec.Cell.HasCellState ? "hidden[0]" : "hidden", nameof(h0));
        }

        if (c0 is not null)
        {
            shape.CheckState(c0, numStates, HiddenSize, "hidden[1]", nameof(c0));
        }
    }

    /// <summary>
    /// The allocation-free path shared by the span overloads: checks every length against <paramref name="shape"/>, then
    /// runs the engine on the caller's memory with a pooled or caller-provided workspace (recording nothing).
    /// </summary>
    private protected void ForwardCore(
        ReadOnlySpan<float> input, SequenceShape shape, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> output, Span<float> hN, Span<float> cN, RecurrentWorkspace? workspace)
    {
        if (shape.SeqLen < 0 || shape.Batch < 0 || shape.Features < 0 || (shape.Unbatched && shape.Batch != 1))
        {
            ThrowHelper.Argument($"shape {shape} is not a sequence batch: lengths must be zero or greater, and an unbatched shape has batch 1", nameof(shape));
        }

        shape.CheckFeatures(InputSize);
        shape.CheckSeqLen();
        SequenceShape outShape = shape.WithFeatures(_spec.NumDirections * _spec.OutputSize);
        SpanChecks.Sequence(input, shape, "H_in", nameof(input));
        SpanChecks.Sequence(output, outShape, "D*H_out", nameof(output));
        CheckStateSpans(input, shape, h0, c0, output, hN, cN);
        Run(input, shape, h0, c0, output, hN, cN, workspace, default, default, record: false);
    }

    /// <summary>Packed input: checks as PyTorch does (2-D data, input size, states against <c>batch_sizes[0]</c>), then runs the engine.</summary>
    private protected (PackedSequence Output, Tensor<float> HN, Tensor<float>? CN) ForwardCore(PackedSequence input, Tensor<float>? h0, Tensor<float>? c0)
    {
        if (input is null)
        {
            ThrowHelper.Null(nameof(input));
        }

        SequenceShape shape = SequenceShape.OfPacked(input);
        shape.CheckFeatures(InputSize);
        CheckStateTensors(shape, h0, c0);

        int rows = TensorData.Length(input.Data, 0);
        int width = _spec.NumDirections * _spec.OutputSize;
        float[] output = GC.AllocateUninitializedArray<float>(checked(rows * width));
        (Tensor<float> hN, Tensor<float>? cN) = RunTensors(TensorData.Read(input.Data), shape, h0, c0, output, input.BatchSizes, input.SortedIndices);
        return (input.WithData(Tensor.Create(output, [rows, width])), hN, cN);
    }

    /// <summary>The allocation-free packed path: checks the batch sizes, permutation and every length, then runs the engine.</summary>
    private protected void ForwardCore(
        ReadOnlySpan<float> input,
        ReadOnlySpan<int> batchSizes,
        ReadOnlySpan<int> sortedIndices,
        ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0,
        Span<float> output,
        Span<float> hN,
        Span<float> cN,
        RecurrentWorkspace? workspace)
    {
        int rows = PackedChecks.Rows(batchSizes);
        if (!sortedIndices.IsEmpty)
        {
            PackedChecks.Permutation(sortedIndices, batchSizes[0], nameof(sortedIndices));
        }

        var shape = new SequenceShape(batchSizes.Length, batchSizes[0], InputSize);
        SpanChecks.Packed(input, rows, InputSize, "H_in", nameof(input));
        SpanChecks.Packed(output, rows, _spec.NumDirections * _spec.OutputSize, "D*H_out", nameof(output));
        CheckStateSpans(input, shape, h0, c0, output, hN, cN);
        Run(input, shape, h0, c0, output, hN, cN, workspace, batchSizes, sortedIndices, record: false);
    }

    /// <summary>
    /// The packed span forward for <see cref="Streaming.StreamHost"/>: the rows of every step are already in sorted
    /// order, so no permutation; <paramref name="cN"/> is ignored by a cell without a cell state.
    /// </summary>
    internal void ForwardPacked(
        ReadOnlySpan<float> input, ReadOnlySpan<int> batchSizes, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> output, Span<float> hN, Span<float> cN, RecurrentWorkspace workspace) =>
        ForwardCore(input, batchSizes, [], h0, _spec.Cell.HasCellState ? c0 : [], output, hN, _spec.Cell.HasCellState ? cN : [], workspace);

    /// <summary>Whether a forward call now would drop activations between layers (training mode with dropout).</summary>
    internal bool AppliesDropout => Training && Dropout > 0f && NumLayers > 1;

    /// <summary>The checks both span paths share: states against <paramref name="shape"/>'s batch, no overlap with the output.</summary>
    private void CheckStateSpans(ReadOnlySpan<float> input, SequenceShape shape, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> output, Span<float> hN, Span<float> cN)
    {
        int numStates = NumLayers * _spec.NumDirections;
        int hOut = _spec.OutputSize;
        SpanChecks.State(hN, shape, numStates, hOut, nameof(hN));
        if (_spec.Cell.HasCellState)
        {
            SpanChecks.State(cN, shape, numStates, HiddenSize, nameof(cN));
        }

        if (!h0.IsEmpty)
        {
            SpanChecks.State(h0, shape, numStates, hOut, nameof(h0));
        }

        if (!c0.IsEmpty)
        {
            SpanChecks.State(c0, shape, numStates, HiddenSize, nameof(c0));
        }

        SpanChecks.NoOverlap(output, input, nameof(output), nameof(input));
        SpanChecks.NoOverlap(output, h0, nameof(output), nameof(h0));
        SpanChecks.NoOverlap(output, hN, nameof(output), nameof(hN));
        SpanChecks.NoOverlap(output, c0, nameof(output), nameof(c0));
        SpanChecks.NoOverlap(output, cN, nameof(output), nameof(cN));
    }

    /// <summary>
    /// Runs the engine on checked arguments, the one path of every forward. Inference reads and writes the caller's rows in
    /// their own layout. With <paramref name="record"/> (a training call) the same driver runs, in the same layout, on a copy
    /// of the input in memory of the record's own and fills a <see cref="BpttTape"/>, which waits for Backward.
    /// </summary>
    private void Run(
        ReadOnlySpan<float> input,
        SequenceShape shape,
        ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0,
        Span<float> output,
        Span<float> hN,
        Span<float> cN,
        RecurrentWorkspace? workspace,
        ReadOnlySpan<int> batchSizes,
        ReadOnlySpan<int> sortedIndices,
        bool record)
    {
        bool packed = !batchSizes.IsEmpty;
        if (shape.Batch == 0)
        {
            // No sequence to run (PyTorch returns the empty tensors at once): nothing is laid out per step, however long
            // the sequences; a training call records an empty tape, whose Backward gives empty gradients.
            if (record)
            {
                _training.Push(new ForwardRecord(shape, BpttTape.Empty(shape.SeqLen)), _training.Rent());
            }

            return;
        }

        bool timeMajor = packed || shape.Unbatched || !shape.BatchFirst;
        Random? dropoutRandom = Training && Dropout > 0f && NumLayers > 1 ? new Random(NextDropoutSeed()) : null;
        RecurrentWorkspace ws = workspace ?? _workspaces.Rent();
        var call = new LayerCall
        {
            Input = input,
            SeqLen = packed ? batchSizes.Length : shape.SeqLen,
            Batch = shape.Batch,
            TimeMajor = timeMajor,
            BatchSizes = batchSizes,
            SortedIndices = sortedIndices,
            H0 = h0,
            C0 = c0,
            Output = output,
            HN = hN,
            CN = cN,
        };
        if (Volatile.Read(ref _quantized) is { } quantized)
        {
            quantized.Forward(_spec, call, Dropout, dropoutRandom, ws);
        }
        else if (!record)
        {
            LayerDriver.Forward(_spec, _packed, call, Dropout, dropoutRandom, ws);
        }
        else
        {
            // The record runs on its own copy of the input by strides, as inference runs on the caller's rows.
            TrainingScratch memory = _training.Rent();
            var tape = BpttTape.For(input, memory);
            LayerDriver.Forward(_spec, _packed, call with { Input = tape.LayerInputs[0] }, Dropout, dropoutRandom, ws, tape);

            _training.Push(new ForwardRecord(shape, tape, packed ? batchSizes.ToArray() : null, packed ? sortedIndices.ToArray() : null), memory);
        }

        if (workspace is null)
        {
            _workspaces.Return(ws);
        }
    }


    private int NextDropoutSeed()
    {
        lock (_random)
        {
            return _random.Next();
        }
    }
}
