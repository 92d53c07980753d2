namespace Recurrent.Engine;

/// <summary>The row-major weights of one (layer, direction), PyTorch's layout: W_ih (G×I), W_hh (G×H_out), b_ih, b_hh (G), W_hr (P×H).</summary>
internal sealed record LayerWeights(float[] WeightIH, float[] WeightHH, float[]? BiasIH, float[]? BiasHH, float[]? WeightHR);
