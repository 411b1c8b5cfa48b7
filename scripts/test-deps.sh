#!/usr/bin/env bash
# Installs what the test suite needs, when it is missing (idempotent, quick when present):
# moto_server, nx-27017 and cfn-lint from PyPI; Debian's chromium for the browser test.
set -euo pipefail
missing=()
for tool in moto_server nx-27017 cfn-lint; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test tools from PyPI: ${missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]" nx-27017 cfn-lint
fi
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium is missing: sudo apt-get install chromium chromium-driver" >&2
    exit 1
  fi
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
