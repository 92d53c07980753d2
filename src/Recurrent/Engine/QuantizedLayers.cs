using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Recurrent.Internals;
using Recurrent.Kernels;
using Recurrent.Kernels.Formats;

namespace Recurrent.Engine;

/// <summary>
/// The packed weights of a quantized module: inference-only <see cref="PackedLayer{TFormat}"/>s in a narrower format,
/// packed once from the float module's weights and keeping no reference to them. The engine is the same one; the format
/// is only its type argument.
/// </summary>
internal abstract class QuantizedLayers
{
    private QuantizedLayers(WeightPrecision precision) => Precision = precision;

    public WeightPrecision Precision { get; }

    /// <summary>Bytes of the packed weights and biases.</summary>
    public abstract long Bytes { get; }

    /// <summary>
    /// Packs every (layer, direction) of <paramref name="weights"/> in <paramref name="precision"/>: bfloat16 in the
    /// paired layout where 16-lane vectors run (<see cref="BFloat16PairWeights"/>), the plain one elsewhere (the values,
    /// and so the results, are the same); int8 per output channel (<see cref="Int8Weights"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is float32 (nothing to quantize) or unknown; for
    /// int8, a weight is not finite or a product's K is too long for int32 sums.</exception>
    public static QuantizedLayers Create(in RecurrentSpec spec, LayerWeights[] weights, WeightPrecision precision, string paramName)
    {
        switch (precision)
        {
            case WeightPrecision.BFloat16:
                return Vector512.IsHardwareAccelerated
                    ? new Stack<BFloat16PairWeights>(spec, weights, precision)
                    : new Stack<BFloat16Weights>(spec, weights, precision);
            case WeightPrecision.Int8:
                CheckInt8(spec, weights, paramName);
                return new Stack<Int8Weights>(spec, weights, precision);
            default:
                throw new ArgumentException(
                    precision == WeightPrecision.Float32
                        ? "float32 is the module's own precision: quantize to WeightPrecision.BFloat16 or WeightPrecision.Int8"
                        : $"unknown weight precision {precision}",
                    paramName);
        }
    }

    /// <summary>int8 scales need finite weights, and an int32 sum of 255 · 127 products holds at most <see cref="Int8Kernels.MaxK"/> of them.</summary>
    private static void CheckInt8(in RecurrentSpec spec, LayerWeights[] weights, string paramName)
    {
        int widest = Math.Max(Math.Max(spec.InputSize, spec.HiddenSize), spec.NumDirections * spec.OutputSize);
        if (widest > Int8Kernels.MaxK)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"int8 weights need input and hidden sizes of at most {Int8Kernels.MaxK} (exact int32 sums), not {widest}"), paramName);
        }

        for (int i = 0; i < weights.Length; i++)
        {
            LayerWeights w = weights[i];
            foreach ((string name, float[]? values) in (ReadOnlySpan<(string, float[]?)>)[("weight_ih", w.WeightIH), ("weight_hh", w.WeightHH), ("weight_hr", w.WeightHR)])
            {
                if (values is not null && !TensorPrimitives.IsFiniteAll<float>(values))
                {
                    throw new ArgumentException($"{name}{Suffix(spec, i)} holds NaN or infinity: int8 needs finite weights to scale", paramName);
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Create"/> for a quantized copy of <paramref name="source"/> (a module or cell), refusing a source that
    /// is a copy itself (<paramref name="sourceLayers"/> not null).
    /// </summary>
    /// <exception cref="InvalidOperationException">The source is itself a quantized copy.</exception>
    public static QuantizedLayers CopyOf(object source, QuantizedLayers? sourceLayers, in RecurrentSpec spec, LayerWeights[] weights, WeightPrecision precision, string paramName) =>
        sourceLayers is null
            ? Create(spec, weights, precision, paramName)
            : throw new InvalidOperationException($"{source} is already quantized ({sourceLayers.Precision}); quantize the float32 module it was made from");

    public abstract void Forward(in RecurrentSpec spec, in LayerCall call, float dropout, Random? dropoutRandom, RecurrentWorkspace workspace);

    /// <summary>The key suffix of an int8 weight's per-row scales: <c>weight_ih_l0_scale</c>.</summary>
    public const string ScaleSuffix = "_scale";

    /// <summary>PyTorch's key suffix of (layer, direction) <paramref name="i"/>: <c>_l0</c>, <c>_l0_reverse</c>.</summary>
    public static string Suffix(in RecurrentSpec spec, int i) =>
        string.Create(CultureInfo.InvariantCulture, $"_l{i / spec.NumDirections}{(i % spec.NumDirections == 1 ? "_reverse" : "")}");

    /// <summary>
    /// The weights of a checkpoint already checked against <see cref="State"/>'s keys and shapes (int8: the integers,
    /// each in [-127, 127], and finite non-negative scales; the packed values are then exactly the saved ones), or of a
    /// float32 checkpoint (<paramref name="scaled"/> false), to quantize as <see cref="Create"/> does.
    /// </summary>
    /// <exception cref="ArgumentException">An int8 weight is not an integer in [-127, 127], or a scale is negative or not finite.</exception>
    public static LayerWeights[] FromState(in RecurrentSpec spec, IReadOnlyDictionary<string, Tensor<float>> state, bool scaled, string paramName)
    {
        var weights = new LayerWeights[spec.NumLayers * spec.NumDirections];
        for (int i = 0; i < weights.Length; i++)
        {
            string suffix = Suffix(spec, i);
            float[]? Get(string name) => state.TryGetValue(name + suffix, out Tensor<float>? t) ? TensorData.Read(t).ToArray() : null;
            float[]? Scaled(string name, float[]? values)
            {
                if (values is null || !scaled)
                {
                    return null;
                }

                float[] scales = TensorData.Read(state[name + suffix + ScaleSuffix]).ToArray();
                int k = values.Length / Math.Max(1, scales.Length);
                for (int row = 0; row < scales.Length; row++)
                {
                    if (!float.IsFinite(scales[row]) || scales[row] < 0f)
                    {
                        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{name}{suffix}{ScaleSuffix}[{row}] is {scales[row]}: an int8 scale is finite and not negative"), paramName);
                    }

                    for (int kk = 0; kk < k; kk++)
                    {
                        float q = values[(row * k) + kk];
                        if (q != MathF.Round(q) || Math.Abs(q) > 127f)
                        {
                            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{name}{suffix}[{row}, {kk}] is {q}: int8 weights here are integers in [-127, 127]"), paramName);
                        }

                        values[(row * k) + kk] = q * scales[row];
                    }
                }

                return scales;
            }

            float[] wih = Get("weight_ih")!, whh = Get("weight_hh")!;
            float[]? whr = Get("weight_hr");
            float[]? sih = Scaled("weight_ih", wih), shh = Scaled("weight_hh", whh), shr = Scaled("weight_hr", whr);
            weights[i] = new LayerWeights(wih, whh, Get("bias_ih"), Get("bias_hh"), whr, scaled ? new ChannelScales(sih!, shh!, shr) : null);
        }

        return weights;
    }

    /// <summary>
    /// The weights as a state_dict, PyTorch's keys in PyTorch's order: each weight read back from its panels (exactly the
    /// rounded value the forward multiplies by), the biases as given.
    /// </summary>
    public abstract OrderedDictionary<string, Tensor<float>> State(in RecurrentSpec spec);

    /// <summary>The layers in one format.</summary>
    private sealed class Stack<TFormat> : QuantizedLayers
        where TFormat : struct, IWeightFormat
    {
        private readonly PackedLayer<TFormat>[] _layers;

        // The biases as given (the packed layers hold b_ih + b_hh pre-summed), for the state a quantized copy saves.
        private readonly (float[]? IH, float[]? HH)[] _biases;

        public Stack(in RecurrentSpec spec, LayerWeights[] weights, WeightPrecision precision)
            : base(precision)
        {
            _layers = new PackedLayer<TFormat>[weights.Length];
            _biases = new (float[]?, float[]?)[weights.Length];
            for (int i = 0; i < _layers.Length; i++)
            {
                _layers[i] = new PackedLayer<TFormat>(
                    spec.Kind, spec.LayerInputSize(i / spec.NumDirections), spec.HiddenSize, spec.OutputSize, weights[i], inferenceOnly: true);
                _biases[i] = ((float[]?)weights[i].BiasIH?.Clone(), (float[]?)weights[i].BiasHH?.Clone());
            }
        }

        public override long Bytes
        {
            get
            {
                long bytes = 0;
                foreach (PackedLayer<TFormat> layer in _layers)
                {
                    bytes += layer.Bytes;
                }

                return bytes;
            }
        }

        public override void Forward(in RecurrentSpec spec, in LayerCall call, float dropout, Random? dropoutRandom, RecurrentWorkspace workspace) =>
            LayerDriver.Forward(spec, _layers, call, dropout, dropoutRandom, workspace);

        public override OrderedDictionary<string, Tensor<float>> State(in RecurrentSpec spec)
        {
            var state = new OrderedDictionary<string, Tensor<float>>();
            int gates = spec.GateSize / spec.HiddenSize;
            for (int i = 0; i < _layers.Length; i++)
            {
                PackedLayer<TFormat> layer = _layers[i];
                string suffix = Suffix(spec, i);
                Add(state, "weight_ih" + suffix, layer.WeightIH, gates, spec.HiddenSize, layer.Unit, layer.InputSize);
                Add(state, "weight_hh" + suffix, layer.WeightHH, gates, spec.HiddenSize, layer.Unit, layer.HiddenIn);
                if (_biases[i].IH is { } bih)
                {
                    state.Add("bias_ih" + suffix, TensorData.Wrap((float[])bih.Clone(), bih.Length));
                }

                if (_biases[i].HH is { } bhh)
                {
                    state.Add("bias_hh" + suffix, TensorData.Wrap((float[])bhh.Clone(), bhh.Length));
                }

                if (layer.WeightHR is { } whr)
                {
                    Add(state, "weight_hr" + suffix, whr, 1, layer.ProjSize, PackedLayer<TFormat>.ProjUnit, spec.HiddenSize);
                }
            }

            return state;
        }

        /// <summary>One weight: as float32, or for int8 the integers and, under <c>name + "_scale"</c>, each row's scale.</summary>
        private static void Add(OrderedDictionary<string, Tensor<float>> state, string name, PackedMatrix<TFormat> packed, int gates, int units, int unit, int k)
        {
            float[] w = new float[gates * units * k];
            if (!TFormat.QuantizesActivations)
            {
                packed.UnpackGateInterleaved(w, gates, units, unit);
                state.Add(name, TensorData.Wrap(w, gates * units, k));
                return;
            }

            float[] scales = new float[gates * units];
            packed.UnpackGateInterleaved(w, gates, units, unit, scales);
            for (int row = 0; row < scales.Length; row++)
            {
                for (int kk = 0; kk < k; kk++)
                {
                    w[(row * k) + kk] = Int8Weights.Quantize(w[(row * k) + kk], scales[row]);
                }
            }

            state.Add(name, TensorData.Wrap(w, gates * units, k));
            state.Add(name + ScaleSuffix, TensorData.Wrap(scales, scales.Length));
        }
    }
}
