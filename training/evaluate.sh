#!/usr/bin/env bash
# Reproduces the accuracy figures of models/README.md (section "How good the proposals are").
#   training/evaluate.sh [BACKBONE...]     default: musicnn-msd scratch-cnn
# Needs ../shared/data/gtzan-mini and the Debian soundtracks fetched with
#   ../shared/data/fetch-debian-music.sh ../data/debian-music
# 1. GTZAN eval clips 7-9 with the shipped models, with their calibrated
#    thresholds and with none (top-1);
# 2. leave one game out: for each soundtrack, a model of the same recipe is
#    trained on GTZAN clips 0-6 and the other games, then judged on that game,
#    among all genres and as a forced choice between classical and electronic.
# EXTRA_LABELS="A.tsv B.tsv" adds training rows to every leave-one-game-out
# model (the experiments in models/README.md with more classical music).
set -euo pipefail
cd "$(dirname "$0")/.."
GTZAN=../shared/data/gtzan-mini/labels.tsv
GAMES=../data/debian-music/labels.tsv
BIN=target/release/sonotag
[ -x "$BIN" ] || cargo build --release --locked
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary() { grep -E '^tracks ' | sed 's/^/    /'; }
extra=()
for labels in ${EXTRA_LABELS:-}; do extra+=(--labels "$labels"); done
backbones=("$@")
[ ${#backbones[@]} -gt 0 ] || backbones=(musicnn-msd scratch-cnn)
for backbone in "${backbones[@]}"; do
  shipped=models/default
  [ "$backbone" = scratch-cnn ] && shipped=models/scratch-cnn
  echo "== $backbone ($shipped)"
  echo "  GTZAN eval, shipped thresholds:"
  $BIN eval --labels $GTZAN --split eval --model $shipped | summary
  echo "  GTZAN eval, top-1 (no thresholds):"
  $BIN eval --labels $GTZAN --split eval --model $shipped --slice-threshold 0 --track-threshold 0 | summary
  for game in wesnoth freedroidrpg singularity warzone2100; do
    $BIN train --backbone "$backbone" --labels $GTZAN --labels $GAMES "${extra[@]}" --exclude-folder "$game" \
      --out "$work/$backbone-without-$game" --seed 42 > "$work/train.log" 2>&1
    echo "  $game held out, its calibrated thresholds / top-1 / classical vs electronic top-1:"
    $BIN eval --labels $GAMES --folder "$game" --model "$work/$backbone-without-$game" | summary
    $BIN eval --labels $GAMES --folder "$game" --model "$work/$backbone-without-$game" \
      --slice-threshold 0 --track-threshold 0 | summary
    $BIN eval --labels $GAMES --folder "$game" --model "$work/$backbone-without-$game" \
      --slice-threshold 0 --track-threshold 0 --among classical,electronic | summary
  done
done
