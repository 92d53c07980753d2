namespace Recurrent.Training;

/// <summary>
/// What each array of a module's training memory holds (<see cref="TrainingScratch"/>, per (layer, direction) slot):
/// the record a training forward keeps, the backward's temporaries and packed operands, and the throwaway gradient targets
/// of frozen parameters.
/// </summary>
internal enum TrainingArray
{
    /// <summary>The record's copy of the caller's input rows.</summary>
    TapeInput,

    /// <summary>A layer's output, before dropout.</summary>
    TapeOutput,

    /// <summary>The gate buffer in the packed column order: the input projection, activated in place by the gate pass.</summary>
    TapePackedGates,

    /// <summary>The activated gates in PyTorch's column order (laid out once, for the backward).</summary>
    TapeGates,

    /// <summary>LSTM: c_t of every row.</summary>
    TapeCells,

    /// <summary>GRU: <c>W_hn h + b_hn</c> of every row.</summary>
    TapeHiddenNew,

    /// <summary>LSTM with proj_size: the unprojected h_t of every row.</summary>
    TapeHiddenFull,

    /// <summary>h0 and c0 of a (layer, direction), in the record's row order.</summary>
    TapeH0,
    TapeC0,

    /// <summary>Dropout: the mask of a layer's input and the input after it.</summary>
    TapeMask,
    TapeDropped,

    /// <summary>dL/d(a layer's input), summed over its directions.</summary>
    GradLayerInput,

    /// <summary>Gate gradients of every row, input side and (GRU) hidden side.</summary>
    GateGradsInput,
    GateGradsHidden,

    /// <summary>The time loop's running dL/dh, dL/dc and the next step's dL/dh.</summary>
    Dh,
    Dc,
    DhNext,

    /// <summary>LSTM with proj_size: dL/d(unprojected h) of a step, and dL/dh of every row (for dW_hr).</summary>
    DhFull,
    DhAll,

    /// <summary>h_{t-1} of every row (for dW_hh).</summary>
    HPrevRows,

    /// <summary>Weight-gradient operands: A packed, [Aᵀ; 1], the product, gate gradients transposed or packed by rows.</summary>
    WeightGradA,
    WeightGradATransposed,
    WeightGradProduct,
    GatesTransposed,
    GatesPacked,

    /// <summary>Where the gradient of a frozen parameter goes (and is dropped).</summary>
    FrozenWih,
    FrozenWhh,
    FrozenBih,
    FrozenBhh,
    FrozenWhr,

    /// <summary>Linear: a training forward's input.</summary>
    LinearInput,

    /// <summary>Embedding: the rows a training forward read.</summary>
    EmbeddingRows,
}
