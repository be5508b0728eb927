#!/usr/bin/env bash
# The retraining learning curves of the README ("Retraining"): a simulated
# user reviews k tracks of a library (GTZAN's eval clips, or one soundtrack
# held out of the base set), retrains, and the untouched tracks are measured.
#   training/learning-curves.sh [WEIGHTS]      default: 10 (the shipped weight)
# The base set is the shipped model's training set (GTZAN, the Debian
# soundtracks and more-music), less the library held out.
# Needs ../shared/data/gtzan-mini, ../data/debian-music and ../data/more-music
# (see README.md here).
set -euo pipefail
cd "$(dirname "$0")/.."
weights="${1:-10}"
cargo build --release --locked -q
target/release/sonotag simulate-corrections \
  --labels ../shared/data/gtzan-mini/labels.tsv --labels ../data/debian-music/labels.tsv \
  --labels ../data/more-music/labels.tsv \
  --library eval --library wesnoth --library freedroidrpg --library warzone2100 \
  --library singularity --k 0,5,10,20 --weights "$weights" --orders review-next,random \
  --retrain-every 5
