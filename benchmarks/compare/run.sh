#!/usr/bin/env bash
# Side by side, in one run, on the same configurations, at 1 and 2 threads: PyTorch (Debian's 1.13.1, /usr/bin/python3),
# ONNX Runtime 1.31 from C# (models exported by torch.onnx), oneDNN 2.6 (Debian's libdnnl-dev, the CPU RNN of PyTorch
# 2.x; a small C++ program) and Recurrent: the Tensor API and the allocation-free span path under the JIT, and the span
# path as NativeAOT images, default instruction set and IlcInstructionSet=native. Prints one table with every runtime,
# the fastest peer, Recurrent's speed-up over it, and % of this machine's FMA peak (measured in the run); keeps it in
# artifacts/charts/compare.md and draws artifacts/charts/compare.png. Then the stream host's table (artifacts/charts/streams.md).
#   benchmarks/compare/run.sh [seconds-per-config] [name filter, e.g. gru]
#   needs: apt-get install -y python3-torch libopenblas0-pthread python3-onnx libdnnl-dev (and g++)
# PyTorch is tuned as a user would run it: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (they force AVX2 kernels),
# OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = the thread count, OMP_WAIT_POLICY=PASSIVE, and glibc malloc thresholds raised.
# ONNX Runtime: IntraOpNumThreads = the thread count, sequential execution, all graph optimisations, inputs and outputs
# bound to preallocated buffers. oneDNN: OMP_NUM_THREADS = the thread count, weights reordered once outside the timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-1.0}
only=${2:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "building the runners..." >&2
dotnet build benchmarks/Recurrent.Benchmarks -c Release -v quiet -nologo >/dev/null
dotnet build benchmarks/Recurrent.Peers.Onnx -c Release -v quiet -nologo >/dev/null
dotnet publish benchmarks/Recurrent.Compare -c Release -r linux-x64 -p:PublishAot=true -o "$out/aot-default" -v quiet -nologo >/dev/null
dotnet publish benchmarks/Recurrent.Compare -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=native -o "$out/aot-native" -v quiet -nologo >/dev/null
g++ -O2 -std=c++17 benchmarks/compare/onednn_rnn.cpp -ldnnl -o "$out/onednn_rnn"
bench="dotnet benchmarks/Recurrent.Benchmarks/bin/Release/net10.0/Recurrent.Benchmarks.dll"
$bench configs | awk -F'\t' -v only="$only" 'index($1, only)' > "$out/configs.tsv"
/usr/bin/python3 benchmarks/compare/export_onnx.py "$out/onnx" < "$out/configs.tsv" 2>/dev/null
# The FMA peak as the machine runs today (a VM's speed drifts from day to day), at 1 and 2 threads.
peak1=$($bench peak --threads 1)
peak2=$($bench peak --threads 2)

for threads in 1 2; do
    echo "timing at $threads thread(s)..." >&2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE \
        GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1000000000:glibc.malloc.trim_threshold=1000000000 \
        /usr/bin/python3 benchmarks/compare/compare_torch.py "$threads" "$seconds" "$only" > "$out/torch-$threads.tsv"
    dotnet benchmarks/Recurrent.Peers.Onnx/bin/Release/net10.0/Recurrent.Peers.Onnx.dll "$out/onnx" "$threads" "$seconds" "$only" > "$out/ort-$threads.tsv"
    OMP_NUM_THREADS=$threads "$out/onednn_rnn" "$seconds" < "$out/configs.tsv" > "$out/onednn-$threads.tsv"
    $bench compare --threads "$threads" --seconds "$seconds" --only "$only" > "$out/recurrent-$threads.tsv"
    $bench compare --threads "$threads" --seconds "$seconds" --only "$only" --span > "$out/span-$threads.tsv"
    $bench compare --threads "$threads" --seconds "$seconds" --only "$only" --bf16 > "$out/bf16-$threads.tsv"
    $bench compare --threads "$threads" --seconds "$seconds" --only "$only" --int8 > "$out/int8-$threads.tsv"
    "$out/aot-default/Recurrent.Compare" --threads "$threads" --seconds "$seconds" --only "$only" --span > "$out/aotdefault-$threads.tsv"
    "$out/aot-native/Recurrent.Compare" --threads "$threads" --seconds "$seconds" --only "$only" --span > "$out/aotnative-$threads.tsv"
done

torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
mkdir -p artifacts/charts
{
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores); PyTorch $torch_version; ONNX Runtime 1.31.1; oneDNN 2.6; $(dotnet --version | sed 's/^/.NET SDK /')"
echo "times are medians in ms. Recurrent: the Tensor<float> API (allocates its outputs, as PyTorch does); span: the"
echo "allocation-free overload with a reused workspace; AOT: the span path in a NativeAOT image, default instruction set"
echo "and IlcInstructionSet=native; bf16 / int8 copy: the span path on Quantize(WeightPrecision.BFloat16 / Int8)"
echo "(inference only; the other columns are float32)."
echo "speed-up = the fastest peer / Recurrent span (> 1: Recurrent is faster)."
echo "% peak = achieved GFLOP/s / the FMA peak measured in this run (16 chains of the widest FMA per thread):"
echo "${peak1} GFLOP/s on 1 thread, ${peak2} on 2. '-': the runtime has no such path (ONNX Runtime: no training;"
echo "oneDNN: no variable-length input)."
/usr/bin/python3 - "$out" "$peak1" "$peak2" <<'PY'
import os, sys
out, peaks = sys.argv[1], {1: float(sys.argv[2]), 2: float(sys.argv[3])}
def load(path):
    return dict(line.rstrip("\n").split("\t") for line in open(path) if "\t" in line) if os.path.exists(path) else {}
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
peers = [("PyTorch", "torch"), ("ONNX Runtime", "ort"), ("oneDNN", "onednn")]
ours = [("Recurrent", "recurrent"), ("span", "span"), ("AOT default", "aotdefault"), ("AOT native", "aotnative"), ("bf16 copy", "bf16"), ("int8 copy", "int8")]
fmt = lambda v: "-" if v is None else f"{v:.3f}" if v < 10 else f"{v:.1f}"
print("| config B,T,I,H | threads | " + " | ".join(n + " ms" for n, _ in peers + ours) + " | fastest peer | speed-up | "
      + " | ".join(n + " % peak" for n, _ in peers) + " | Recurrent % peak |")
print("|---" * (2 + len(peers) + len(ours) + 2 + len(peers) + 1) + "|")
for threads in (1, 2):
    data = {key: load(f"{out}/{key}-{threads}.tsv") for _, key in peers + ours}
    for name in data["span"]:
        v = {key: float(data[key][name]) if name in data[key] else None for _, key in peers + ours}
        peer_times = [(v[key], label) for label, key in peers if v[key] is not None]
        best, best_label = min(peer_times)
        f = flops(name) / 1e6  # MFLOP; / ms = GFLOP/s
        pct = lambda ms: "-" if ms is None else f"{100 * f / ms / peaks[threads]:.0f}%"
        print(f"| {name} | {threads} | " + " | ".join(fmt(v[key]) for _, key in peers + ours)
              + f" | {best_label} | {best / v['span']:.2f}x | " + " | ".join(pct(v[key]) for _, key in peers) + f" | {pct(v['span'])} |")
print()
print("Packed (mixed lengths, about half the padded steps) against the padded call on the same tensor; < 1 means packing is faster.")
print("| config B,T,I,H | threads | PyTorch packed / padded | ONNX Runtime (sequence_lens) / padded | Recurrent span packed / padded |")
print("|---|---|---|---|---|")
for threads in (1, 2):
    torch, ort, span = (load(f"{out}/{who}-{threads}.tsv") for who in ("torch", "ort", "span"))
    for name in span:
        padded = name.replace(" packed", "")
        if " packed " not in name or padded not in span:
            continue
        o = f"{float(ort[name]) / float(ort[padded]):.2f}" if name in ort and padded in ort else "-"
        print(f"| {padded} | {threads} | {float(torch[name]) / float(torch[padded]):.2f} | {o} | {float(span[name]) / float(span[padded]):.2f} |")
PY
} | tee artifacts/charts/compare.md
$bench chart artifacts/charts/compare.md artifacts/charts/compare.png

# Many live streams (issue 15): the stream host against one Forward call per stream per chunk, one core, LSTM 256 and
# the package sample's model; the peers have no stream host to compare (state shuttling and batching are the caller's).
if [ -z "$only" ]; then
    for model in "--input 256 --hidden 256" "--input 16 --hidden 32"; do
        # shellcheck disable=SC2086
        $bench streams --seconds "$seconds" --chunk 1 $model
        echo
    done | tee artifacts/charts/streams.md
fi
