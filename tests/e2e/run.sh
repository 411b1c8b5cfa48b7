#!/usr/bin/env bash
# Browser end-to-end test of the web page against the real `faceid serve`.
#
# Needs: node >= 20.11 and npm; Debian's chromium (apt-get install -y chromium); the
# `faceid` and `faceid-testkit` binaries, built by the caller:
#   cargo build -p faceid -p faceid-testkit
# (or set FACEID_E2E_BUILD=1 to have this script build them). Binaries are looked up in
# $CARGO_TARGET_DIR/debug (default: <repo>/target/debug); override with FACEID_BIN and
# FACEID_TESTKIT_BIN. Screenshots and the server log go to target/e2e (FACEID_E2E_OUT).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

if [[ "${FACEID_E2E_BUILD:-0}" == 1 ]]; then
  (cd "$root" && cargo build -p faceid -p faceid-testkit)
fi
chromium="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "e2e: $chromium not found; install it with: apt-get install -y chromium" >&2
  exit 1
fi

cd "$here"
# playwright-core downloads no browser; the test drives Debian's chromium.
npm ci --no-audit --no-fund --loglevel=error
exec node --test --test-concurrency=1 --test-reporter=spec schedule.test.mjs login.test.mjs
