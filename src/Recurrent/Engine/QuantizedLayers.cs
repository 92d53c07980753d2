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
    /// paired layout where 16-lane vectors run (<see cref="BFloat16PairWeights"/>), the plain one elsewhere; the values,
    /// and so the results, are the same.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is float32 (nothing to quantize) or unknown.</exception>
    public static QuantizedLayers Create(in RecurrentSpec spec, LayerWeights[] weights, WeightPrecision precision, string paramName)
    {
        if (precision != WeightPrecision.BFloat16)
        {
            throw new ArgumentException(
                precision == WeightPrecision.Float32
                    ? "float32 is the module's own precision: quantize to WeightPrecision.BFloat16"
                    : $"unknown weight precision {precision}",
                paramName);
        }

        return Vector512.IsHardwareAccelerated
            ? new Stack<BFloat16PairWeights>(spec, weights, precision)
            : new Stack<BFloat16Weights>(spec, weights, precision);
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
            int d = spec.NumDirections, gates = spec.GateSize / spec.HiddenSize;
            for (int i = 0; i < _layers.Length; i++)
            {
                PackedLayer<TFormat> layer = _layers[i];
                string suffix = string.Create(CultureInfo.InvariantCulture, $"_l{i / d}{(i % d == 1 ? "_reverse" : "")}");
                state.Add("weight_ih" + suffix, Unpack(layer.WeightIH, gates, spec.HiddenSize, layer.Unit, layer.InputSize));
                state.Add("weight_hh" + suffix, Unpack(layer.WeightHH, gates, spec.HiddenSize, layer.Unit, layer.HiddenIn));
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
                    state.Add("weight_hr" + suffix, Unpack(whr, 1, layer.ProjSize, PackedLayer<TFormat>.ProjUnit, spec.HiddenSize));
                }
            }

            return state;
        }

        private static Tensor<float> Unpack(PackedMatrix<TFormat> packed, int gates, int units, int unit, int k)
        {
            float[] w = new float[gates * units * k];
            packed.UnpackGateInterleaved(w, gates, units, unit);
            return TensorData.Wrap(w, gates * units, k);
        }
    }
}
