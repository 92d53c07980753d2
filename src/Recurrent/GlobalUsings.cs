// The modules run on float32 weights: PackedMatrix and PackedLayer, unqualified, are the float32 ones.
global using PackedLayer = Recurrent.Engine.PackedLayer<Recurrent.Kernels.Formats.Float32Weights>;
global using PackedMatrix = Recurrent.Kernels.PackedMatrix<Recurrent.Kernels.Formats.Float32Weights>;
