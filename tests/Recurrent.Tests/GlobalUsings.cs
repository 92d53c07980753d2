// The library's float32 packed matrix, as the library names it.
global using PackedMatrix = Recurrent.Kernels.PackedMatrix<Recurrent.Kernels.Formats.Float32Weights>;
