#!/usr/bin/env bash
# Benchmarks, side by side with face_recognition, in one run:
#   1. builds faceid-bench (release profile);
#   2. times face_recognition 1.3 / dlib on the same images and stages
#      (tests/bench/reference_timing.py, in the Python of $FACEID_REF_PYTHON);
#   3. times faceid (model load, every stage, end to end, peak RSS), 1:N search over
#      1k..1M synthetic templates, and the labelled pairs (ROC);
#   4. prints the tables with ratios and writes docs/figures/{bench.json,latency.svg,
#      search.svg,roc.svg}.
# Decode is timed alone and excluded from every stage except "end to end", which starts
# from the file's bytes in both implementations.
#
# Usage: scripts/bench.sh [--quick]      (--quick: fewer runs, smaller galleries)
# Env:   FACEID_REF_PYTHON  Python with face_recognition (default /work/refvenv/bin/python)
#        BENCH_RUNS / BENCH_SLOW_RUNS   timed runs of fast / slow stages (20 / 5)
#        BENCH_OUT          output folder (default docs/figures)
#        BENCH_SKIP_BUILD=1 use the faceid-bench binary already built
# Run it on an idle machine: other builds on the same cores skew every number (the
# load average at start and end is stored with the results).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

runs="${BENCH_RUNS:-20}"
slow="${BENCH_SLOW_RUNS:-5}"
sizes="1000,10000,100000,1000000"
budget=2
if [[ "${1:-}" == "--quick" ]]; then
  runs=3; slow=1; sizes="1000,10000,100000"; budget=0.5
fi
out="${BENCH_OUT:-docs/figures}"
py="${FACEID_REF_PYTHON:-/work/refvenv/bin/python}"

images=(
  tests/fixtures/images/face_recognition/obama-640x480.jpg
  tests/fixtures/images/face_recognition/obama_small.jpg
  tests/fixtures/images/face_recognition/two_people.jpg
  tests/fixtures/images/face_recognition/obama-720p.jpg
  tests/fixtures/images/dlib/Tom_Cruise_avp_2014_4.jpg
)

if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
  cargo build --release -p faceid-bench
fi
bench="$CARGO_TARGET_DIR/release/faceid-bench"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ref_args=()
if "$py" -c "import face_recognition" 2>/dev/null; then
  echo "== face_recognition ($py)" >&2
  "$py" tests/bench/reference_timing.py --runs "$runs" --slow-runs "$slow" \
    --json "$tmp/reference.json" "${images[@]}"
  ref_args=(--reference "$tmp/reference.json")
else
  cat >&2 <<EOF
face_recognition is not importable with $py: faceid numbers only, no ratios.
Create the reference venv (dlib compiles from source, ~20 min) and point FACEID_REF_PYTHON at it:
  python3 -m venv v && v/bin/pip install "setuptools<81" cmake && v/bin/pip install face_recognition
  FACEID_REF_PYTHON=\$PWD/v/bin/python scripts/bench.sh
EOF
fi

echo "== faceid" >&2
"$bench" all --runs "$runs" --slow-runs "$slow" --sizes "$sizes" --budget-s "$budget" \
  --out "$out" "${ref_args[@]}" "${images[@]}"
