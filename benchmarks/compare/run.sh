#!/usr/bin/env bash
# Side by side: PyTorch (Debian's 1.13.1, /usr/bin/python3) and Recurrent on the same configurations, in one run,
# at 1 and 2 threads. Prints times, ratios and % of this machine's FP32 FMA peak.
#   benchmarks/compare/run.sh [seconds-per-config] [name filter, e.g. gru]   (needs: apt-get install -y python3-torch libopenblas0-pthread)
# The table is also kept in artifacts/charts/compare.md and drawn as artifacts/charts/compare.png (% of FMA peak).
# PyTorch is tuned as a user would run it: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (they force AVX2 kernels),
# OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = the thread count, OMP_WAIT_POLICY=PASSIVE, and glibc malloc thresholds raised.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-1.0}
only=${2:-}
peak_per_core=${PEAK_GFLOPS_PER_CORE:-222}   # measured on this 2-core machine (performance issue): AVX-512 FMA
out=$(mktemp -d)

dotnet build benchmarks/Recurrent.Benchmarks -c Release -v quiet -nologo >/dev/null
for threads in 1 2; do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE \
        GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1000000000:glibc.malloc.trim_threshold=1000000000 \
        /usr/bin/python3 benchmarks/compare/compare_torch.py "$threads" "$seconds" "$only" > "$out/torch-$threads.tsv"
    dotnet benchmarks/Recurrent.Benchmarks/bin/Release/net10.0/Recurrent.Benchmarks.dll compare --threads "$threads" --seconds "$seconds" --only "$only" > "$out/recurrent-$threads.tsv"
    dotnet benchmarks/Recurrent.Benchmarks/bin/Release/net10.0/Recurrent.Benchmarks.dll compare --threads "$threads" --seconds "$seconds" --only "$only" --span > "$out/span-$threads.tsv"
done

torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
mkdir -p artifacts/charts
{
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores); PyTorch $torch_version; $(dotnet --version | sed 's/^/.NET SDK /')"
echo "times are medians in ms. Recurrent: the Tensor<float> API (allocates its outputs, as PyTorch does); span: the"
echo "allocation-free overload with a reused workspace. speedup = PyTorch / Recurrent (tensor API)."
echo "% peak = achieved GFLOP/s / (${peak_per_core} x threads), for PyTorch and for Recurrent's span path."
/usr/bin/python3 - "$out" "$peak_per_core" <<'PY'
import sys
out, peak = sys.argv[1], float(sys.argv[2])
def load(path):
    return dict(line.rstrip("\n").split("\t") for line in open(path) if "\t" in line)
def flops(name):
    kind_part, dims = name.rsplit(" ", 1)
    b, t, i, h = map(int, dims.split(","))
    words = kind_part.split()
    # Packed configs count only the steps each sequence runs (benchmarks/Recurrent.Benchmarks/Configs.cs MixedLengths).
    rows = sum(t if k == 0 else 1 + (k * 37) % t for k in range(b)) if "packed" in words else b * t
    kind = words[0]
    layers = int(words[1].split("-")[0]) if len(words) > 1 and words[1].endswith("-layer") else 1
    d = 2 if "bi" in words else 1
    g = {"lstm": 4, "lstmcell": 4, "gru": 3, "rnn": 1}[kind]
    total = 0.0
    for layer in range(layers):
        inp = i if layer == 0 else d * h
        total += 2.0 * d * rows * g * h * (inp + h)
    return 3 * total if "train" in words else total  # a training step: forward + backward (about twice the forward)
print(f"| config B,T,I,H | threads | PyTorch ms | Recurrent ms | span ms | speedup | PyTorch % peak | Recurrent % peak |")
print(f"|---|---|---|---|---|---|---|---|")
for threads in (1, 2):
    torch, ours, span = (load(f"{out}/{who}-{threads}.tsv") for who in ("torch", "recurrent", "span"))
    for name in ours:
        t, r, s = float(torch[name]), float(ours[name]), float(span[name])
        f = flops(name) / 1e6  # MFLOP; / ms = GFLOP/s
        print(f"| {name} | {threads} | {t:.3f} | {r:.3f} | {s:.3f} | {t / r:.2f}x | {100 * f / t / (peak * threads):.0f}% | {100 * f / s / (peak * threads):.0f}% |")
print()
print("Packed (mixed lengths, about half the padded steps) against the padded call on the same tensor; < 1 means packing is faster.")
print(f"| config B,T,I,H | threads | PyTorch packed / padded | Recurrent packed / padded | span packed / padded |")
print(f"|---|---|---|---|---|")
for threads in (1, 2):
    torch, ours, span = (load(f"{out}/{who}-{threads}.tsv") for who in ("torch", "recurrent", "span"))
    for name in ours:
        if " packed " not in name or name.replace(" packed", "") not in ours:
            continue
        padded = name.replace(" packed", "")
        print(f"| {padded} | {threads} | {float(torch[name]) / float(torch[padded]):.2f} | {float(ours[name]) / float(ours[padded]):.2f} | {float(span[name]) / float(span[padded]):.2f} |")
PY
} | tee artifacts/charts/compare.md
dotnet benchmarks/Recurrent.Benchmarks/bin/Release/net10.0/Recurrent.Benchmarks.dll chart artifacts/charts/compare.md artifacts/charts/compare.png
rm -rf "$out"
