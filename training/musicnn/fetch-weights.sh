#!/usr/bin/env bash
# Rebuilds models/musicnn-msd.safetensors from musicnn's PyPI wheel and checks
# it against the recorded SHA-256 (models/musicnn-msd.sha256).
#   training/musicnn/fetch-weights.sh           # download, convert, verify
#   training/musicnn/fetch-weights.sh --record  # ... and record a new SHA-256
# Needs python3 and pip (for `pip download`); nothing else is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" musicnn==0.1.0
wheel=$(ls "$work"/musicnn-0.1.0-*.whl)
echo "wheel: $(sha256sum "$wheel" | cut -d' ' -f1)  $(basename "$wheel")"
python3 training/musicnn/convert.py "$wheel" "$work/musicnn-msd.safetensors"
sum=$(sha256sum "$work/musicnn-msd.safetensors" | cut -d' ' -f1)
if [ "${1:-}" = "--record" ]; then
  cp "$work/musicnn-msd.safetensors" models/musicnn-msd.safetensors
  echo "$sum  musicnn-msd.safetensors" > models/musicnn-msd.sha256
  echo "recorded $sum"
elif [ "$sum" = "$(cut -d' ' -f1 models/musicnn-msd.sha256)" ]; then
  cp "$work/musicnn-msd.safetensors" models/musicnn-msd.safetensors
  echo "ok: $sum matches models/musicnn-msd.sha256"
else
  echo "SHA-256 $sum differs from models/musicnn-msd.sha256" >&2
  exit 1
fi
