#!/usr/bin/env bash
# Rebuilds models/musicnn-msd.safetensors (or, with --mtt,
# models/musicnn-mtt.safetensors) from musicnn's PyPI wheel and checks it
# against the recorded SHA-256 (models/musicnn-msd.sha256 or -mtt.sha256).
#   training/musicnn/fetch-weights.sh                 # download, convert, verify
#   training/musicnn/fetch-weights.sh --mtt           # the MTT model instead
#   training/musicnn/fetch-weights.sh [--mtt] --record  # ... and record a new SHA-256
# Needs python3 and pip (for `pip download`); nothing else is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=MSD name=musicnn-msd record=
for a in "$@"; do
  case "$a" in
    --mtt) model=MTT name=musicnn-mtt ;;
    --record) record=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" musicnn==0.1.0
wheel=$(ls "$work"/musicnn-0.1.0-*.whl)
echo "wheel: $(sha256sum "$wheel" | cut -d' ' -f1)  $(basename "$wheel")"
python3 training/musicnn/convert.py "$wheel" "$work/$name.safetensors" "$model"
sum=$(sha256sum "$work/$name.safetensors" | cut -d' ' -f1)
if [ -n "$record" ]; then
  cp "$work/$name.safetensors" "models/$name.safetensors"
  echo "$sum  $name.safetensors" > "models/$name.sha256"
  echo "recorded $sum"
elif [ -f "models/$name.sha256" ] && [ "$sum" = "$(cut -d' ' -f1 "models/$name.sha256")" ]; then
  cp "$work/$name.safetensors" "models/$name.safetensors"
  echo "ok: $sum matches models/$name.sha256"
else
  echo "SHA-256 $sum differs from models/$name.sha256" >&2
  exit 1
fi
