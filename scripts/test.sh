#!/usr/bin/env bash
# The whole test suite (the README's test command): formatting and lints, cargo deny
# (licences, advisories, bans, sources: deny.toml), every Rust test
# (unit, parity against dlib's reference outputs, Lambda handlers and storage adapters
# against real moto_server and nx-27017), a 30 s soak of `faceid serve`, the SAM template
# lint (cfn-lint, `sam validate`), and the browser test in headless Chromium. Needs:
# python3 with `moto[server] nx-27017 cfn-lint`, the SAM CLI, node/npm, and Debian's
# chromium (see .ci/run, which installs all of it).
# Every stage runs even when an earlier one fails, so one run shows every failure; the
# exit status is non-zero if any stage failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
bash scripts/test-deps.sh
source scripts/services.sh
trap stop_services EXIT
start_services

failed=()
stage() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    echo "!! stage failed: $name"
    failed+=("$name")
  fi
}
# The Lambda runtime test (tests/service/tests/lambda_runtime.rs) runs the real `enroll`
# and `authenticate` binaries; `cargo test` alone builds `enroll` (for its own tests) but
# not `authenticate`, and the test refuses a binary older than its sources.
workspace_tests() {
  cargo build -p enroll -p authenticate && cargo test --workspace --no-fail-fast
}
# Licences, bans and sources are checked offline; advisories need the RustSec database,
# which cargo-deny clones from GitHub. Where that cannot be reached the stage says so
# loudly and checks the other three: it never reports advisories it did not check.
# (--hide-inclusion-graph: one short entry per duplicated crate instead of ~3,000 lines;
# `cargo deny check` shows who pulls a crate in.)
cargo_deny() {
  if cargo deny fetch db >/dev/null 2>&1; then
    cargo deny --offline check --hide-inclusion-graph
  else
    echo "!! cargo deny: the RustSec advisory database cannot be fetched here; advisories NOT checked"
    cargo deny check --hide-inclusion-graph licenses bans sources
  fi
}
browser_e2e() {
  cargo build -p faceid -p faceid-testkit && bash tests/e2e/run.sh
}

stage "cargo fmt --check" cargo fmt --all -- --check
stage "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
stage "cargo deny" cargo_deny
stage "cargo test" workspace_tests
# 30 s of mixed enroll/login/delete traffic against `faceid serve` (debug build, as the
# tests), then the consistency check, again after a restart (docs/perf.md, "Soak").
stage "soak" bash scripts/soak.sh --debug 30s
stage "cfn-lint" cfn-lint infra/template.yaml
# The SAM CLI's own check of the transform, offline. Not `--lint`: SAM CLI 1.170.0's lint
# mode called a template valid that plain `sam validate` and cfn-lint both reject (an
# event of type HttpApiX); cfn-lint, above, is the lint.
sam_validate() {
  source scripts/tools.sh
  SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "$SAM" validate --template infra/template.yaml
}
stage "sam validate" sam_validate
stage "browser end-to-end" browser_e2e

if ((${#failed[@]})); then
  printf 'FAILED stages: %s\n' "${failed[*]}"
  exit 1
fi
echo "all test stages passed"
