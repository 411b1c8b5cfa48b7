#!/usr/bin/env bash
# Lambda package sizes (issue 7): builds the enroll and authenticate functions in release
# (root Cargo.toml: lto = "thin", codegen-units = 1, strip = true, panic = unwind), zips
# each binary as `bootstrap` (zip -9, what the provided.al2023 runtime runs) and reports
# zipped / unzipped sizes against Lambda's limits: 50 MB zipped for a direct upload,
# 250 MB unzipped. The models are compiled into each binary (include_bytes!), so the zip
# is the whole deployment.
#
# With cargo-lambda on PATH (`pip install cargo-lambda`, which brings zig) it builds what
# Lambda runs: `cargo lambda build --release [--arm64]`, linked by zig against an old
# glibc baseline (provided.al2023 has glibc 2.34). Without it, a plain `cargo build
# --release` for this machine: the sizes are the same, but the binary may need this
# machine's newer glibc (the last column says).
#
# Usage: scripts/package-size.sh [--arm64]   Output: $PACKAGE_OUT (target/lambda)/{enroll,authenticate}.zip
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="${PACKAGE_OUT:-target/lambda}"
command -v zip >/dev/null || { echo "zip is missing: apt-get install zip" >&2; exit 1; }

arch=x86_64
if [[ "${1:-}" == "--arm64" ]]; then arch=arm64; fi
if cargo lambda --version >/dev/null 2>&1; then
  flags=(); [[ "$arch" == arm64 ]] && flags=(--arm64)
  cargo lambda build --release "${flags[@]}" -p enroll -p authenticate
  bin() { echo "$CARGO_TARGET_DIR/lambda/$1/bootstrap"; }
  built="cargo lambda build ($arch, zig)"
else
  [[ "$arch" == arm64 ]] && { echo "--arm64 needs cargo-lambda: pip install cargo-lambda" >&2; exit 1; }
  cargo build --release -p enroll -p authenticate
  bin() { echo "$CARGO_TARGET_DIR/release/$1"; }
  built="cargo build (host toolchain; check the glibc column)"
fi
mkdir -p "$out"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
pct() { awk -v b="$1" -v l="$2" 'BEGIN { printf "%.0f%%", 100 * b / l }'; }
models=0
for m in models/*.onnx models/*.dat; do models=$((models + $(stat -c %s "$m"))); done

echo "$(uptime)"
echo "built with: $built; models compiled in: $(mb "$models") MB"
echo
echo "| function | bootstrap (unzipped) | zip -9 | zip vs 50 MB | unzipped vs 250 MB | max GLIBC symbol |"
echo "|---|---|---|---|---|---|"
status=0
for f in enroll authenticate; do
  stage="$(mktemp -d)"
  cp "$(bin "$f")" "$stage/bootstrap"
  rm -f "$out/$f.zip"
  # -X: no extra file attributes (reproducible); the archive holds only `bootstrap`.
  (cd "$stage" && zip -9 -q -X "$OLDPWD/$out/$f.zip" bootstrap)
  raw="$(stat -c %s "$stage/bootstrap")"
  zipped="$(stat -c %s "$out/$f.zip")"
  # The newest glibc symbol version the binary needs: it must not exceed the runtime's
  # (Amazon Linux 2023 has glibc 2.34).
  glibc="$( (objdump -T "$stage/bootstrap" 2>/dev/null || true) \
    | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
  rm -rf "$stage"
  echo "| $f | $(mb "$raw") MB | $(mb "$zipped") MB | $(pct "$zipped" 50000000) | $(pct "$raw" 250000000) | ${glibc:-?} |"
  if ((zipped > 50000000 || raw > 250000000)); then status=1; fi
done
exit "$status"
