using Recurrent.Benchmarks;

// `Recurrent.Compare --threads N --seconds S [--span] [--only NAME]`: the same lines as `Recurrent.Benchmarks compare`.
return CompareRunner.Run(["compare", .. args]);
