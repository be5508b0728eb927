#!/usr/bin/env bash
# Issue 35, item 3: is classify's default path (6 patches, 11 where they
# disagree) as accurate as analysing every patch, and what would analysing
# every patch of the tracks that path leaves unsure give? For each source
# of the training set, a model of the shipped recipe is trained without it,
# then the source is evaluated both ways (--as-classify, and every patch);
# "escalated" takes the every-patch verdict for the tracks the default path
# left unsure. Prints one line per source. Needs the data of
# training/README.md.
#   training/escalation-study.sh [SOURCE...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/sonotag
GTZAN=../shared/data/gtzan-mini/labels.tsv
labels=(--labels $GTZAN --labels ../data/debian-music/labels.tsv --labels ../data/more-music/labels.tsv)
sources=("$@")
[ ${#sources[@]} -gt 0 ] || sources=(wesnoth freedroidrpg singularity warzone2100 ufoai 0ad widelands)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for s in "${sources[@]}"; do
  $BIN train "${labels[@]}" --exclude-folder "$s" --out "$work/without-$s" --seed 42 > "$work/train.log" 2>&1
  tsv=../data/debian-music/labels.tsv
  grep -q "	$s/" ../data/more-music/labels.tsv && tsv=../data/more-music/labels.tsv
  $BIN eval --labels $tsv --folder "$s" --model "$work/without-$s" --as-classify --json > "$work/$s-classify.json"
  $BIN eval --labels $tsv --folder "$s" --model "$work/without-$s" --json > "$work/$s-all.json"
  python3 - "$s" "$work/$s-classify.json" "$work/$s-all.json" <<'PY'
import json, sys
name, sampled, every = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
full = {t["path"]: t for t in every["tracks"]}
def tally(tracks):
    proposed = [t for t in tracks if t["proposed"]]
    right = sum(t["proposed"] == t["truth"] for t in proposed)
    return f"{right}/{len(tracks)} right ({len(proposed)} proposed)"
escalated = [t if t["proposed"] else full[t["path"]] for t in sampled["tracks"]]
print(f"{name:14} default path {tally(sampled['tracks']):28} every patch {tally(every['tracks']):28} "
      f"escalated {tally(escalated)}")
PY
done
