#!/usr/bin/env bash
# Soak test of `faceid serve` on embedded storage (issue 8), on loopback only:
#   1. builds faceid and faceid-load (release; --debug: the dev profile CI already has);
#   2. starts `faceid serve` on a free 127.0.0.1 port with a temporary FACEID_DATA_DIR,
#      FACEID_REQUIRE_LIVENESS=false and FACEID_TRUST_REQUEST_ID=true (the soak client
#      names each request, as a proxy would, and finds its audit event by that id);
#   3. `faceid-load soak`: DURATION of mixed traffic at SOAK_CONCURRENCY — enrollments
#      (new users, more photos, re-enrollment after deletion), 1:1 genuine and impostor
#      logins, 1:N logins, deletions, malformed requests — then the consistency check
#      against the client's ledger: acknowledged enrollments present with exactly their
#      face ids (API and files), deleted users gone, one audit event per audited request;
#   4. stops the server (SIGINT), starts it again on the same data dir and repeats only
#      the check (`soak --check-only --ledger …`): what was acknowledged survived.
# Fails if any request got an unexpected answer, any check fails, or the server log shows
# a panic. Results: $SOAK_OUT/{soak.json,soak-restart.json,ledger.json,summary.md,server.log}.
#
# Usage: scripts/soak.sh [--debug] [DURATION]      DURATION: 600s (default), 10m, 30s…
# Env:   SOAK_CONCURRENCY (4), SOAK_SEED (from the clock; printed), SOAK_MAX_USERS (48),
#        SOAK_OUT (target/soak)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Loopback only: never route the traffic through a proxy.
export NO_PROXY='*' no_proxy='*'

profile=release
duration=600s
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) duration="$arg" ;;
  esac
done
concurrency="${SOAK_CONCURRENCY:-4}"
max_users="${SOAK_MAX_USERS:-48}"
out="${SOAK_OUT:-target/soak}"
mkdir -p "$out"
rm -f "$out"/soak.json "$out"/soak-restart.json "$out"/ledger.json "$out"/summary.md "$out"/server.log
out="$(cd "$out" && pwd)"

if [[ "$profile" == release ]]; then
  cargo build --release -p faceid -p faceid-load
else
  cargo build -p faceid -p faceid-load
fi
faceid="$CARGO_TARGET_DIR/$profile/faceid"
load="$CARGO_TARGET_DIR/$profile/faceid-load"

tmp="$(mktemp -d)"
source scripts/serve.sh
trap 'stop_server; rm -rf "$tmp"' EXIT

export FACEID_DATA_DIR="$tmp/data"
export FACEID_ADMIN_TOKEN="soak-test-$RANDOM$RANDOM$RANDOM"
export FACEID_REQUIRE_LIVENESS=false
export FACEID_TRUST_REQUEST_ID=true
export NO_COLOR=1

failed=0
echo "## Soak: $duration of mixed traffic, C=$concurrency, $profile build" >"$out/summary.md"
echo >>"$out/summary.md"
echo "$(uptime)" >>"$out/summary.md"
echo >>"$out/summary.md"

start_server
echo "== soak: $duration at concurrency $concurrency ($url)" >&2
"$load" soak --url "$url" --duration "$duration" --concurrency "$concurrency" \
  --max-users "$max_users" ${SOAK_SEED:+--seed "$SOAK_SEED"} \
  --server-pid "$server_pid" --data-dir "$FACEID_DATA_DIR" \
  --ledger "$out/ledger.json" --json "$out/soak.json" | tee -a "$out/summary.md" || failed=1
stop_server

echo "== restart on the same data dir, check only" >&2
{ echo; echo "## After a restart on the same data dir: check only"; echo; } >>"$out/summary.md"
start_server
"$load" soak --url "$url" --check-only --ledger "$out/ledger.json" \
  --server-pid "$server_pid" --data-dir "$FACEID_DATA_DIR" \
  --json "$out/soak-restart.json" | tee -a "$out/summary.md" || failed=1
stop_server

if grep -q "panicked" "$out/server.log"; then
  echo "the server panicked (see $out/server.log):" >&2
  grep -m5 -A3 "panicked" "$out/server.log" >&2
  failed=1
fi
echo "results: $out" >&2
exit "$failed"
