// The modules run on float32 weights: PackedMatrix, unqualified, is the float32 packed matrix.
global using PackedMatrix = Recurrent.Kernels.PackedMatrix<Recurrent.Kernels.Formats.Float32Weights>;
