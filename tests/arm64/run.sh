#!/usr/bin/env bash
# The test suite on ARM64 (the AdvSimd tier) under qemu-user, for a developer: not part of .ci/run yet (see below).
#   tests/arm64/run.sh [xunit v3 runner arguments, default: the kernel and golden namespaces]
# Needs (Debian 12, as root): dpkg --add-architecture arm64 && apt-get update &&
#   apt-get install -y qemu-user libc6:arm64 libstdc++6:arm64 libssl3:arm64
# The arm64 libraries come from Debian's arm64 architecture (qemu -L /), not the libc6-arm64-cross sysroot: with that
# sysroot the .NET 10 runtime spins at start-up, and the xunit runner needs libssl.
# Measured 2026-12-02 (qemu 7.2): every Kernels test passes (each tier bit for bit against the scalar one, on AdvSimd),
# and the GRU, RNN, Embedding and RnnUtils golden cases match PyTorch; the LSTM, cell and packed golden cases abort with
# "Illegal instruction" inside the emulator, while the demo runs the same LSTM configurations (projection,
# bidirectional, 2 threads) under qemu without fault. Until that is explained on real ARM64 hardware, CI does not run this.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/arm64-tests
dotnet publish tests/Recurrent.Tests -c Release -r linux-arm64 --self-contained -o "$out" -v quiet -nologo >/dev/null
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-namespace Recurrent.Tests.Kernels -namespace Recurrent.Tests.Golden)
cd "$out"
DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 qemu-aarch64 -L / ./Recurrent.Tests -parallelMode none "${args[@]}"
