#!/usr/bin/env bash
# Lambda package sizes (issue 7): builds the enroll and authenticate functions in release
# (root Cargo.toml: lto = "thin", codegen-units = 1, strip = true, panic = unwind), zips
# each binary as `bootstrap` (zip -9, what the provided.al2023 runtime runs) and reports
# zipped / unzipped sizes against Lambda's limits: 50 MB zipped for a direct upload,
# 250 MB unzipped. The models are compiled into each binary (include_bytes!), so the zip
# is the whole deployment.
#
# Builds for this machine's target (x86_64-unknown-linux-gnu). arm64 (Graviton) needs
# cargo-lambda + zig or an aarch64 linker, which are not installed here.
#
# Usage: scripts/package-size.sh        Output: $PACKAGE_OUT (target/lambda)/{enroll,authenticate}.zip
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="${PACKAGE_OUT:-target/lambda}"
command -v zip >/dev/null || { echo "zip is missing: apt-get install zip" >&2; exit 1; }

cargo build --release -p enroll -p authenticate
mkdir -p "$out"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
pct() { awk -v b="$1" -v l="$2" 'BEGIN { printf "%.0f%%", 100 * b / l }'; }
models=0
for m in models/*.onnx models/*.dat; do models=$((models + $(stat -c %s "$m"))); done

echo "$(uptime)"
echo "target: $(rustc -vV | sed -n 's/^host: //p'), models compiled in: $(mb "$models") MB"
echo
echo "| function | bootstrap (unzipped) | zip -9 | zip vs 50 MB | unzipped vs 250 MB | max GLIBC symbol |"
echo "|---|---|---|---|---|---|"
status=0
for f in enroll authenticate; do
  stage="$(mktemp -d)"
  cp "$CARGO_TARGET_DIR/release/$f" "$stage/bootstrap"
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
