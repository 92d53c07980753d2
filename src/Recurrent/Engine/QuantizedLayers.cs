using System;
using Recurrent.Kernels.Formats;

namespace Recurrent.Engine;

/// <summary>
/// The packed weights of a quantized module: inference-only <see cref="PackedLayer{TFormat}"/>s in a narrower format,
/// packed once from the float module's weights and keeping no reference to them. The engine is the same one; the format
/// is only its type argument.
/// </summary>
internal sealed class QuantizedLayers
{
    private readonly PackedLayer<BFloat16Weights>[] _bfloat16;

    private QuantizedLayers(WeightPrecision precision, PackedLayer<BFloat16Weights>[] bfloat16)
    {
        Precision = precision;
        _bfloat16 = bfloat16;
    }

    public WeightPrecision Precision { get; }

    /// <summary>Bytes of the packed weights and biases.</summary>
    public long Bytes
    {
        get
        {
            long bytes = 0;
            foreach (PackedLayer<BFloat16Weights> layer in _bfloat16)
            {
                bytes += layer.Bytes;
            }

            return bytes;
        }
    }

    /// <summary>Packs every (layer, direction) of <paramref name="weights"/> in <paramref name="precision"/>.</summary>
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

        var layers = new PackedLayer<BFloat16Weights>[weights.Length];
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i] = new PackedLayer<BFloat16Weights>(
                spec.Kind, spec.LayerInputSize(i / spec.NumDirections), spec.HiddenSize, spec.OutputSize, weights[i], inferenceOnly: true);
        }

        return new QuantizedLayers(precision, layers);
    }

    public void Forward(in RecurrentSpec spec, in LayerCall call, float dropout, Random? dropoutRandom, RecurrentWorkspace workspace) =>
        LayerDriver.Forward(spec, _bfloat16, call, dropout, dropoutRandom, workspace);
}
