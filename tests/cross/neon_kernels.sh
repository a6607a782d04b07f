#!/usr/bin/env bash
# The NEON kernels on an x86-64 machine: the engine's core and
# unit/cpu_kernels cross-built for aarch64 (static, so no aarch64 libraries
# are needed) and run under qemu-user, so the NEON code, which no x86-64
# build compiles, is checked against cpu-ref like every other kernel set.
# Usage: neon_kernels.sh SOURCE_ROOT BUILD_DIR ENGINE_CORE_SOURCE...
set -euo pipefail

cc="aarch64-linux-gnu-gcc"
qemu="qemu-aarch64"
for tool in "$cc" "$qemu"; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found (Debian: gcc-aarch64-linux-gnu, qemu-user)"
    exit 77
  fi
done

root=$1
out=$2/neon
shift 2
mkdir -p "$out"

# The flags of the native build that matter (meson.build, engine/meson.build).
flags=(-std=c17 -D_POSIX_C_SOURCE=200809L -O3 -Wall -Wextra -Werror
       -DSW_INTERNAL -DSW_VERSION='"cross"'
       -I"$root/include" -I"$root/engine" -I"$root/engine/cpu")
objects=()
for src in "$@"; do
  obj=$out/$(basename "$src" .c).o
  "$cc" "${flags[@]}" -c "$src" -o "$obj"
  objects+=("$obj")
done
"$cc" "${flags[@]}" -ffp-contract=off -DSW_KERNEL_ISA=neon -DSW_VL=4 -DSW_REGS=16 \
  -fvisibility=hidden -c "$root/engine/cpu/simd_kernels.c" -o "$out/kernels.o"
# -O2: GCC 12's aarch64 vectorizer fails on the test at -O3 (an internal
# compiler error in vect_transform_reduction).
"$cc" "${flags[@]}" -O2 -c "$root/tests/unit/test_cpu_kernels.c" -o "$out/test.o"
"$cc" -static -o "$out/test_cpu_kernels" "$out/test.o" "$out/kernels.o" \
  "${objects[@]}" -lm

# The test names the kernel sets it ran; it must have run neon.
log=$out/test.log
"$qemu" "$out/test_cpu_kernels" | tee "$log"
grep -q '^# neon ' "$log" || { echo "FAIL: the neon kernels did not run"; exit 1; }
