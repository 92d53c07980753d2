#!/usr/bin/env bash
# The kernel, golden-fixture and quantized-copy tests on ARM64 (the AdvSimd tier) under qemu-user; .ci/run calls it.
#   tests/arm64/run.sh [xunit v3 runner arguments, default: the Kernels, Golden and Quantization namespaces]
# Installs what it needs when it is missing (Debian 12, as root): the arm64 architecture, qemu-user, and the arm64
# libc, libstdc++ and libssl. The libraries come from Debian's arm64 architecture (qemu -L /), not from the
# libc6-arm64-cross sysroot: with that sysroot the .NET 10 runtime spins at start-up, and the xunit runner needs libssl.
#
# DOTNET_EnableWriteXorExecute=0 is required under qemu-user: with W^X on, the runtime writes new code through a
# second (writable) mapping of the same memory, which qemu's translation cache does not see, so once the runtime
# reuses code memory qemu runs the stale translation ("Illegal instruction" in a reflection invoke stub after a few
# dozen tests). With it off, every test passes (582 on 2026-12-02, about a minute here); real ARM64 hardware does not need it.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v qemu-aarch64 >/dev/null 2>&1 || ! dpkg -s libc6:arm64 libstdc++6:arm64 libssl3:arm64 >/dev/null 2>&1; then
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" dpkg --add-architecture arm64
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq qemu-user libc6:arm64 libstdc++6:arm64 libssl3:arm64 >/dev/null
fi

out=artifacts/arm64-tests
rm -rf "$out"
dotnet publish tests/Recurrent.Tests -c Release -r linux-arm64 --self-contained -o "$out" -v quiet -nologo >/dev/null
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-namespace Recurrent.Tests.Kernels -namespace Recurrent.Tests.Golden -namespace Recurrent.Tests.Quantization)
cd "$out"
DOTNET_EnableWriteXorExecute=0 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    qemu-aarch64 -L / ./Recurrent.Tests -parallelMode none -noColor "${args[@]}" | tee /tmp/recurrent-arm64-tests.txt
# Refuse a run that ran nothing (a filter that matched no test, a runner that stopped early).
grep -Eq "Total: [1-9][0-9]*, Errors: 0, Failed: 0" /tmp/recurrent-arm64-tests.txt \
    || { echo "error: the ARM64 test run did not report a clean total" >&2; exit 1; }
