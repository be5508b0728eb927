#!/usr/bin/env bash
# How much the default model's calibrated thresholds, and the GTZAN eval
# figure they give, depend on the training seed (models/README.md, "How stable the
# thresholds are"). The seed only moves the cross-validation folds the
# thresholds are calibrated on (and the head's start; the head's problem is
# convex). Extra arguments are passed to `sonotag train`, e.g.
# `--labels ../data/extra-music/labels.tsv`.
#   training/seed-study.sh [TRAIN ARGS...]     seeds: SEEDS="1 2 3" (default 1-8 and 42)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/sonotag
[ -x "$BIN" ] || cargo build --release --locked
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for seed in ${SEEDS:-1 2 3 4 5 6 7 8 42}; do
  $BIN --db "$work/library.sqlite" train --labels ../shared/data/gtzan-mini/labels.tsv \
    --labels ../data/debian-music/labels.tsv "$@" --out "$work/model" --seed "$seed" > "$work/log" 2>&1
  thresholds=$(grep -o 'calibrated for.*' "$work/log" || echo 'not calibrated')
  gtzan=$(grep -o 'gtzan-mini eval: .*' "$work/log" | sed 's/gtzan-mini eval: //')
  slice=$(grep -A2 '"thresholds"' "$work/model.json" | head -3 | grep -o '"slice": [0-9.]*' | cut -d' ' -f2)
  track=$(grep -A2 '"thresholds"' "$work/model.json" | head -3 | grep -o '"track": [0-9.]*' | cut -d' ' -f2)
  echo "seed $seed: thresholds $slice / $track; $thresholds; GTZAN eval $gtzan"
done
