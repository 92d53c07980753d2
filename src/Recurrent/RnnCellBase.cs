using System;
using System.Globalization;
using System.Numerics.Tensors;
using Recurrent.Engine;
using Recurrent.Internals;
using Recurrent.Kernels.Cells;
using Recurrent.Training;

namespace Recurrent;

/// <summary>
/// What <see cref="RnnCell"/>, <see cref="LstmCell"/> and <see cref="GruCell"/> share, like PyTorch's <c>RNNCellBase</c>:
/// parameters <c>weight_ih</c>, <c>weight_hh</c>, <c>bias_ih</c>, <c>bias_hh</c>, the input checks, and one step of
/// the same layer driver the full layers use (so a cell equals a one-step layer).
/// </summary>
public abstract class RnnCellBase : Module
{
    private readonly RecurrentSpec _spec;
    private readonly LayerWeights[] _weights;

    /// <summary>The steps recorded for Backward (newest last) and the backward's temporaries, reused from step to step.</summary>
    private readonly TrainingMemory<StepRecord> _training = new();

    /// <inheritdoc/>
    private protected override void ReleaseTrainingMemory()
    {
        _training.Release();
        foreach (PackedLayer layer in _packed)
        {
            layer.ReleaseBackward();
        }
    }
    private readonly Random _random;
    private readonly WorkspacePool _workspaces = new();
    private PackedLayer[] _packed = [];

    /// <summary>A quantized copy's weights (it has no parameters); null for a float32 cell.</summary>
    private readonly QuantizedLayers? _quantized;
    private readonly Parameter? _weightIH;
    private readonly Parameter? _weightHH;

    private protected RnnCellBase(CellKind kind, int inputSize, int hiddenSize, bool bias, int? seed)
    {
        if (inputSize < 0)
        {
            ThrowHelper.OutOfRange(nameof(inputSize), inputSize, "input_size must be zero or greater");
        }

        if (hiddenSize < 0)
        {
            ThrowHelper.OutOfRange(nameof(hiddenSize), hiddenSize, "hidden_size must be zero or greater");
        }

        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Bias = bias;
        _spec = RecurrentSpec.Checked(kind, inputSize, hiddenSize, 0, 1, 1);
        _random = Init.CreateRandom(seed);
        Parameter.CheckSize("weight_ih", [_spec.GateSize, inputSize]);
        Parameter.CheckSize("weight_hh", [_spec.GateSize, hiddenSize]);
        Parameter.CheckModelSize((double)_spec.GateSize * ((double)inputSize + hiddenSize + 2), 4, nameof(hiddenSize), $"a {kind} cell of hidden_size {hiddenSize}");
        _weightIH = Register("weight_ih", _spec.GateSize, inputSize);
        _weightHH = Register("weight_hh", _spec.GateSize, hiddenSize);
        BiasIH = bias ? Register("bias_ih", _spec.GateSize) : null;
        BiasHH = bias ? Register("bias_hh", _spec.GateSize) : null;
        _weights = [new LayerWeights(_weightIH.Values, _weightHH.Values, BiasIH?.Values, BiasHH?.Values, null)];
        ResetParameters();
    }

    /// <summary>A quantized, inference-only copy of <paramref name="source"/> (see <see cref="RnnBase"/>'s): no parameters.</summary>
    private protected RnnCellBase(RnnCellBase source, WeightPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(source);
        InputSize = source.InputSize;
        HiddenSize = source.HiddenSize;
        Bias = source.Bias;
        _spec = source._spec;
        _random = source._random;
        _weights = [];
        _quantized = QuantizedLayers.CopyOf(source, source._quantized, _spec, source._weights, precision, nameof(precision));
        SetTraining(source.Training);
    }

    /// <summary>How the weights the forward reads are stored: <see cref="WeightPrecision.Float32"/>, or a quantized copy's precision.</summary>
    public WeightPrecision Precision => _quantized?.Precision ?? WeightPrecision.Float32;

    /// <summary>The number of expected features in the input x (<c>input_size</c>).</summary>
    public int InputSize { get; }

    /// <summary>The number of features in the hidden state h (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; }

    /// <summary>Whether the cell has <c>bias_ih</c> and <c>bias_hh</c>.</summary>
    public bool Bias { get; }

    /// <summary><c>weight_ih</c>: <c>(gates*hidden_size, input_size)</c>.</summary>
    /// <exception cref="InvalidOperationException">A quantized copy has no float32 parameters.</exception>
    public Parameter WeightIH => _weightIH ?? throw NoParameters();

    /// <summary><c>weight_hh</c>: <c>(gates*hidden_size, hidden_size)</c>.</summary>
    /// <exception cref="InvalidOperationException">A quantized copy has no float32 parameters.</exception>
    public Parameter WeightHH => _weightHH ?? throw NoParameters();

    /// <summary><c>bias_ih</c>: <c>(gates*hidden_size)</c>, or <see langword="null"/> without bias.</summary>
    public Parameter? BiasIH { get; }

    /// <summary><c>bias_hh</c>: <c>(gates*hidden_size)</c>, or <see langword="null"/> without bias.</summary>
    public Parameter? BiasHH { get; }

    /// <summary>Re-packs the weights for the kernels; call it after writing to a <see cref="Parameter.Data"/> directly.</summary>
    public void FlattenParameters() => OnParametersChanged();

    /// <inheritdoc/>
    protected override void OnParametersChanged()
    {
        if (_quantized is not null)
        {
            return;
        }

        _packed = [new PackedLayer(_spec.Kind, InputSize, HiddenSize, HiddenSize, _weights[0], _packed.Length > 0 ? _packed[0] : null)];
    }

    /// <summary>Draws every parameter from U(-1/√hidden_size, 1/√hidden_size), as <c>reset_parameters</c> does.</summary>
    public void ResetParameters()
    {
        float bound = HiddenSize > 0 ? 1f / MathF.Sqrt(HiddenSize) : 0f;
        foreach (Parameter p in Parameters())
        {
            Init.Uniform(p.Values, bound, _random);
        }

        OnParametersChanged();
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        string s = string.Create(CultureInfo.InvariantCulture, $"{InputSize}, {HiddenSize}");
        if (!Bias)
        {
            s += ", bias=False";
        }

        if (_spec.Kind == CellKind.RnnRelu)
        {
            s += ", nonlinearity=relu";
        }

        return s;
    }

    /// <summary>Checks input and state in PyTorch's order and runs one step; returns h' (and c' for LSTM).</summary>
    private protected (Tensor<float> H, Tensor<float>? C) ForwardCore(Tensor<float> input, Tensor<float>? h, Tensor<float>? c)
    {
        bool lstm = _spec.Cell.HasCellState;
        StepShape shape = StepShape.Of(input, h, c, TorchName, InputSize, HiddenSize, lstm);
        int batch = shape.Batch;
        var hNew = new float[batch * HiddenSize];
        float[] cNew = lstm ? new float[batch * HiddenSize] : [];
        Step(
            TensorData.Read(input),
            batch,
            h is null ? default : TensorData.Read(h),
            c is null ? default : TensorData.Read(c),
            hNew,
            cNew,
            null,
            Training && AnyRequiresGrad() ? shape : null);

        nint[] lengths = shape.Lengths(HiddenSize);
        return (Tensor.Create(hNew, lengths), lstm ? Tensor.Create(cNew, lengths) : null);
    }

    /// <summary>The allocation-free step shared by the span overloads: checks lengths, then one step of the layer driver.</summary>
    private protected void ForwardCore(ReadOnlySpan<float> input, int batch, ReadOnlySpan<float> h, ReadOnlySpan<float> c, Span<float> hNew, Span<float> cNew, RecurrentWorkspace? workspace)
    {
        CheckSpans(input, batch, h, c, hNew, cNew);
        Step(input, batch, h, c, hNew, cNew, workspace, record: null);
    }

    /// <summary>
    /// Backpropagation for the newest training-mode tensor <c>Forward</c> not yet backpropagated (a loop of steps is walked
    /// back from its last step): adds the parameters' gradients to their Grad and returns dL/d(input), dL/dh and (LSTM)
    /// dL/dc, shaped as that forward's tensors.
    /// </summary>
    /// <exception cref="InvalidOperationException">No training-mode forward was recorded.</exception>
    private protected CellGradients BackwardCore(Tensor<float> gradH, Tensor<float>? gradC)
    {
        if (gradH is null)
        {
            ThrowHelper.Null(nameof(gradH));
        }

        if (_quantized is not null)
        {
            throw new InvalidOperationException($"{this} has {Precision} weights: a quantized cell is inference-only; train the float32 cell and quantize it again");
        }

        StepRecord record = _training.Peek(TorchName);
        bool lstm = _spec.Cell.HasCellState;
        int n = record.Shape.Batch * HiddenSize;
        ReadOnlySpan<float> dh = TensorData.Read(gradH), dc = gradC is null ? default : TensorData.Read(gradC);
        if (dh.Length != n || (!dc.IsEmpty && dc.Length != n))
        {
            ThrowHelper.Argument(string.Create(CultureInfo.InvariantCulture, $"gradH (and gradC) must hold {n} floats, the forward's h' shape"), nameof(gradH));
        }

        // The backward pass adds straight into each parameter's Grad (a frozen one's into scratch).
        TrainingScratch scratch = _training.Scratch;
        LayerWeights grads = scratch.GradTargets([WeightIH, WeightHH, BiasIH, BiasHH, null], 0);
        float[] gradInput = new float[record.Shape.Batch * InputSize], gradHPrev = new float[n], gradCPrev = new float[lstm ? n : 0];
        (_, TrainingScratch memory) = _training.Pop(TorchName);
        Bptt.Backward(_spec, _weights, record.Tape, scratch, dh, default, dc, [grads], gradInput, gradHPrev, gradCPrev);
        _training.Return(memory);
        nint[] inputLengths = record.Shape.Lengths(InputSize), stateLengths = record.Shape.Lengths(HiddenSize);
        return new CellGradients(
            Tensor.Create(gradInput, inputLengths), Tensor.Create(gradHPrev, stateLengths), lstm ? Tensor.Create(gradCPrev, stateLengths) : null);
    }

    /// <summary>A training-mode step's shape and record.</summary>
    private sealed record StepRecord(StepShape Shape, BpttTape Tape);

    /// <summary>The span callers' checks: lengths against the batch, and no output overlapping an input it still reads.</summary>
    private void CheckSpans(ReadOnlySpan<float> input, int batch, ReadOnlySpan<float> h, ReadOnlySpan<float> c, Span<float> hNew, Span<float> cNew)
    {
        if (batch < 0)
        {
            ThrowHelper.OutOfRange(nameof(batch), batch, "batch must be zero or greater");
        }

        SpanChecks.Rows(input, batch, InputSize, "H_in", nameof(input));
        SpanChecks.Rows(hNew, batch, HiddenSize, "H", nameof(hNew));
        if (!h.IsEmpty)
        {
            SpanChecks.Rows(h, batch, HiddenSize, "H", nameof(h));
        }

        if (_spec.Cell.HasCellState)
        {
            SpanChecks.Rows(cNew, batch, HiddenSize, "H", nameof(cNew));
            if (!c.IsEmpty)
            {
                SpanChecks.Rows(c, batch, HiddenSize, "H", nameof(c));
            }

            SpanChecks.NoOverlap(hNew, cNew, nameof(hNew), nameof(cNew));
            SpanChecks.NoOverlap(hNew, c, nameof(hNew), nameof(c));
        }

        SpanChecks.NoOverlap(hNew, input, nameof(hNew), nameof(input));
    }

    /// <summary>
    /// One step of the engine on checked arguments, the one path of every cell forward; with <paramref name="record"/>
    /// (a training call: the shape of its tensors) the step records what Backward needs in memory of its own, so
    /// the steps of an unrolled loop can each be backpropagated, the last first.
    /// </summary>
    private void Step(ReadOnlySpan<float> input, int batch, ReadOnlySpan<float> h, ReadOnlySpan<float> c, Span<float> hNew, Span<float> cNew, RecurrentWorkspace? workspace, StepShape? record)
    {
        bool lstm = _spec.Cell.HasCellState;
        RecurrentWorkspace ws = workspace ?? _workspaces.Rent();
        if (!h.IsEmpty && hNew.Overlaps(h))
        {
            h = ws.CopyState(h);
        }

        var call = new LayerCall { Input = input, SeqLen = 1, Batch = batch, TimeMajor = true, H0 = h, C0 = lstm ? c : default, Output = hNew, HN = hNew, CN = lstm ? cNew : default };
        if (record is StepShape shape)
        {
            TrainingScratch memory = _training.Rent();
            var tape = BpttTape.For(input, memory);
            LayerDriver.Forward(_spec, _packed, call with { Input = tape.LayerInputs[0] }, 0f, null, ws, tape);
            _training.Push(new StepRecord(shape, tape), memory);
        }
        else if (_quantized is not null)
        {
            _quantized.Forward(_spec, call, 0f, null, ws);
        }
        else
        {
            LayerDriver.Forward(_spec, _packed, call, 0f, null, ws);
        }

        if (workspace is null)
        {
            _workspaces.Return(ws);
        }
    }

    private InvalidOperationException NoParameters() =>
        new($"{this} is a quantized copy ({Precision} weights): it has no float32 parameters; read them from the cell it was made from");
}
