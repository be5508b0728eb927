#!/usr/bin/env bash
# The retraining learning curves of docs/retraining.md ("Learning curves"): a simulated
# user reviews k tracks of a library, in every order (review next, random
# with seeds 1-5, wrong first, one genre at a time), retrains after every 5,
# and the untouched tracks are measured beside what the first model got
# right on them.
#   training/learning-curves.sh [WEIGHTS]      default: 10 (the shipped weight)
# 1. In memory: GTZAN's eval clips, and each non-GTZAN source held out of
#    the base set (the shipped model's training set less that source).
# 2. Through a real library (scan, classify, accept/override, retrain, as
#    the CLI does): GTZAN's eval clips copied into a folder of their own.
# Needs ../shared/data/gtzan-mini, ../data/debian-music and ../data/more-music
# (see README.md here). About an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
weights="${1:-10}"
cargo build --release --locked -q
gtzan=../shared/data/gtzan-mini
target/release/sonotag simulate-corrections \
  --labels $gtzan/labels.tsv --labels ../data/debian-music/labels.tsv \
  --labels ../data/more-music/labels.tsv \
  --library eval --library wesnoth --library freedroidrpg --library warzone2100 \
  --library singularity --library ufoai --library 0ad --library widelands \
  --k 0,5,10,20 --weights "$weights" --retrain-every 5
library=$(mktemp -d)
trap 'rm -rf "$library"' EXIT
printf 'genre\tpath\tsplit\n' > "$library/labels.tsv"
awk -F'\t' 'NR > 1 && $3 == "eval" { print $1 "\t" $2 "\teval" }' $gtzan/labels.tsv |
  while IFS=$'\t' read -r genre path split; do
    mkdir -p "$library/$(dirname "$path")"
    cp "$gtzan/$path" "$library/$path"
    printf '%s\t%s\t%s\n' "$genre" "$path" "$split" >> "$library/labels.tsv"
  done
target/release/sonotag simulate-corrections --labels "$library/labels.tsv" --folder "$library" \
  --k 0,5,10,20 --weights "$weights" --retrain-every 5
