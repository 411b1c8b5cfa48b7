#!/usr/bin/env bash
# The whole test suite (the README's test command): formatting and lints, every Rust test
# (unit, parity against dlib's reference outputs, Lambda handlers and storage adapters
# against real moto_server and nx-27017), a 30 s soak of `faceid serve`, the SAM template
# lint, and the browser test in headless Chromium. Needs: python3 with `moto[server]
# nx-27017 cfn-lint`, node/npm, and Debian's chromium (see .ci/run, which installs all of it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
bash scripts/test-deps.sh
source scripts/services.sh
trap stop_services EXIT
start_services

echo "== cargo fmt --check"; cargo fmt --all -- --check
echo "== cargo clippy"; cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"; cargo test --workspace --no-fail-fast
# 30 s of mixed enroll/login/delete traffic against `faceid serve` (debug build, as the
# tests), then the consistency check, again after a restart (docs/perf.md, "Soak").
echo "== soak"; bash scripts/soak.sh --debug 30s
echo "== cfn-lint"; cfn-lint infra/template.yaml
if [ -f tests/e2e/run.sh ]; then
  echo "== browser end-to-end"
  cargo build -p faceid -p faceid-testkit
  bash tests/e2e/run.sh
fi
echo "all test stages passed"
