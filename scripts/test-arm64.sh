#!/usr/bin/env bash
# The parity tests on aarch64, the architecture the SAM template deploys: cross-compiles the
# vision and embedding crates' tests for aarch64-unknown-linux-gnu and runs them under
# qemu-user. The x86_64 code paths (AVX2 / AVX-512 kernels) are not used there: this checks
# that the portable kernels and tract's NEON kernels give dlib's numbers too. qemu emulates
# the CPU, so the run is slow (HOG over the shared set: ~16 min) and says nothing about speed.
#
# Usage: scripts/test-arm64.sh [CARGO TEST ARGS…]   e.g. scripts/test-arm64.sh -p faceid-vision
# Needs (installed when missing, as root): qemu-user-static, gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross (Debian), and rustup's aarch64-unknown-linux-gnu target.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_ARM64:-$HOME/.cache/faceid-arm64}"
target=aarch64-unknown-linux-gnu

if ! command -v qemu-aarch64-static >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "needs: sudo apt-get install qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
if [ $# -eq 0 ]; then
  set -- -p faceid-vision -p faceid-embedding -p faceid-dlib-format
fi
cargo test --target "$target" "$@"
