#!/usr/bin/env bash
# Downloads FLARE's fantasy-RPG score (Debian package flare-game, CC-BY-SA-3.0)
# and labels its eleven theme pieces "classical", for the experiment in the
# README ("More orchestral music from another source"). Not part of the
# shipped model's training.
# Usage: training/fetch-flare-music.sh OUT     (needs apt-get download)
set -euo pipefail
out=${1:?usage: fetch-flare-music.sh OUT}
mkdir -p "$out/flare"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download flare-game >/dev/null 2>&1) ||
  { apt-get update -qq >/dev/null; (cd "$work" && apt-get download flare-game >/dev/null); }
dpkg-deb -x "$work"/flare-game_*.deb "$work/root"
printf 'genre\tpath\tsplit\tlicence\n' > "$out/labels.tsv"
# The *_theme pieces; wind_ambient is a sound-effect loop, not music.
for f in "$work"/root/usr/share/games/flare/mods/fantasycore/music/*_theme.ogg; do
  cp "$f" "$out/flare/"
  printf 'classical\tflare/%s\ttrain\tCC-BY-SA-3.0\n' "$(basename "$f")" >> "$out/labels.tsv"
done
echo "$(($(wc -l < "$out/labels.tsv") - 1)) pieces in $out"
