#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of FaceID's untrusted-input parsers.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Runs every target (or the ones named) for SECONDS_PER_TARGET (default 600), one job each,
# one after the other, with -print_final_stats=1; prints a table
# target | executions | exec/s | coverage | crashes, and writes it to docs/fuzz.json.
# Needs the nightly toolchain (rustup toolchain install nightly); installs cargo-fuzz if
# missing. Builds into $CARGO_TARGET_DIR (default ~/.cache/faceid-fuzz-target) so the
# sanitizer flags never invalidate the normal build cache.
# A crash leaves its input in tests/fuzz/artifacts/<target>/; reproduce it with
#   cargo +nightly fuzz run --fuzz-dir tests/fuzz <target> <file>
set -euo pipefail

SECS="${1:-600}"
shift || true
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/tests/fuzz"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faceid-fuzz-target}"
ALL=(decode_image http_bodies s3_event model_parsers)
TARGETS=("${@:-${ALL[@]}}")

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Release + debug assertions (overflow checks), AddressSanitizer (cargo-fuzz's default).
# Built once; the binaries are then run directly, so every target runs the same code even
# if the sources change meanwhile (cargo fuzz run would rebuild).
cargo +nightly fuzz build --fuzz-dir "$FUZZ" -a
BIN="$CARGO_TARGET_DIR/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

# The stores of http_bodies / s3_event live in a scratch folder (tmpfs when there is one),
# removed on exit.
SCRATCH_BASE=/dev/shm
[ -d "$SCRATCH_BASE" ] && [ -w "$SCRATCH_BASE" ] || SCRATCH_BASE="${TMPDIR:-/tmp}"
SCRATCH="$(mktemp -d "$SCRATCH_BASE/faceid-fuzz.XXXXXX")"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/faceid-fuzz-logs.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
export FACEID_FUZZ_DATA="$SCRATCH"

# Per-target options: the largest input (it bounds the cost of one execution) and extra
# seeds that are too big to commit (the real model files, copied into the corpus).
max_len() {
    case "$1" in
        decode_image) echo 65536 ;;
        http_bodies) echo 32768 ;; # above the fuzz state's 16 KiB body limit
        s3_event) echo 16384 ;;
        model_parsers) echo 200000 ;; # the HOG detector (155 kB) fits; the rest is cut
    esac
}
extra_seeds() {
    case "$1" in
        model_parsers)
            for f in "$ROOT"/models/*.dat; do
                [ -f "$f" ] && cp -n "$f" "$FUZZ/corpus/$1/" || true
            done
            ;;
        decode_image)
            for f in face_recognition/obama_small.jpg pypi/horse.png; do
                cp -n "$ROOT/tests/fixtures/images/$f" "$FUZZ/corpus/$1/" || true
            done
            ;;
    esac
}

RESULTS=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
    cp -n "$FUZZ/seeds/$t"/* "$FUZZ/corpus/$t/" 2>/dev/null || true
    extra_seeds "$t"
    log="$LOGS/$t.log"
    touch "$LOGS/$t.start"
    echo "== $t: ${SECS}s" >&2
    set +e
    "$BIN/$t" "$FUZZ/corpus/$t" \
        -max_total_time="$SECS" -max_len="$(max_len "$t")" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$FUZZ/artifacts/$t/" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    crashes=$(find "$FUZZ/artifacts/$t" -type f -newer "$LOGS/$t.start" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    RESULTS+=("$t|${execs:-0}|${speed:-0}|${cov:-?}|$crashes|$rc")
    [ "$rc" -eq 0 ] || { echo "   exit $rc, log: $log" >&2; tail -n 30 "$log" >&2; }
done

printf '%-14s | %12s | %7s | %-20s | %s\n' target executions exec/s coverage crashes
for r in "${RESULTS[@]}"; do
    IFS='|' read -r t execs speed cov crashes rc <<<"$r"
    printf '%-14s | %12s | %7s | %-20s | %s\n' "$t" "$execs" "$speed" "$cov" "$crashes"
done

# docs/fuzz.json: one row per target; a run of some targets replaces only their rows.
mkdir -p "$ROOT/docs"
TOOL="cargo-fuzz $(cargo +nightly fuzz --version 2>/dev/null | awk '{print $2}'), $(rustc +nightly --version | awk '{print $1, $2}')" \
SECS="$SECS" OUT="$ROOT/docs/fuzz.json" flock "${TMPDIR:-/tmp}/faceid-fuzz-json.lock" \
    python3 - "${RESULTS[@]}" <<'PY'
import datetime, json, os, re, sys
out = os.environ["OUT"]
try:
    doc = json.load(open(out))
except (OSError, ValueError):
    doc = {}
doc["how"] = ("scripts/fuzz.sh: libFuzzer via cargo-fuzz, AddressSanitizer, debug assertions, "
              "1 job per target, on a 2-core VM shared with other builds")
runs = {r["target"]: r for r in doc.get("runs", [])}
for row in sys.argv[1:]:
    t, execs, speed, cov, crashes, rc = row.split("|")
    m = re.match(r"cov: (\d+) ft: (\d+)", cov)
    runs[t] = {
        "target": t,
        "date": datetime.date.today().isoformat(),
        "tool": os.environ["TOOL"],
        "seconds": int(os.environ["SECS"]),
        "executions": int(execs or 0),
        "exec_per_sec": int(speed or 0),
        "cov": int(m.group(1)) if m else None,
        "ft": int(m.group(2)) if m else None,
        "crash_artifacts": int(crashes),
        "libfuzzer_exit_code": int(rc),
    }
order = ["decode_image", "http_bodies", "s3_event", "model_parsers"]
doc["runs"] = sorted(runs.values(), key=lambda r: order.index(r["target"]) if r["target"] in order else 99)
json.dump(doc, open(out, "w"), indent=2)
open(out, "a").write("\n")
PY
echo "wrote docs/fuzz.json; logs in $LOGS" >&2
