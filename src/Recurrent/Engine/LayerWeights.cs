namespace Recurrent.Engine;

/// <summary>
/// The row-major weights of one (layer, direction), PyTorch's layout: W_ih (G×I), W_hh (G×H_out), b_ih, b_hh (G), W_hr (P×H);
/// with <paramref name="Scales"/>, each weight row's int8 scale as a checkpoint saved it (the weights then hold
/// <c>q · scale</c>).
/// </summary>
internal sealed record LayerWeights(float[] WeightIH, float[] WeightHH, float[]? BiasIH, float[]? BiasHH, float[]? WeightHR, ChannelScales? Scales = null);

/// <summary>Per-row scales of W_ih, W_hh and W_hr for int8 weights.</summary>
internal sealed record ChannelScales(float[] IH, float[] HH, float[]? HR);
