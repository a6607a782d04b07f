#!/usr/bin/env bash
# Install the Debian packages Statewave builds with (when missing), then
# configure and build it in ./build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build pkg-config gcc libc6-dev
  g++  # Meson's CUDA support needs a C++ compiler beside nvcc
  libcjson-dev libsndfile1-dev
  libhdf5-dev  # Keras .h5 models
  libzip-dev  # Keras 3 .keras models
  valgrind  # the formats suite runs the loader under it
  clang libclang-rt-14-dev  # libFuzzer and sanitizers for the fuzz suite
  lv2-dev liblilv-dev  # the LV2 plugin, and the C test host that loads it
  lilv-utils sordi jalv jackd2 ardour sox  # real hosts the lv2 suite runs
  portaudio19-dev  # live audio: statewave run and devices (JACK, ALSA)
)
if [ "$(uname -m)" = x86_64 ]; then
  # The cross suite: the NEON kernels built for aarch64, run under qemu-user.
  packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The GPU backends are built when nvcc is found; the toolkit's usual home is
# not on PATH by default.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

[ -f build/build.ninja ] || meson setup build
meson compile -C build
