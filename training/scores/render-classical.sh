#!/usr/bin/env bash
# Renders 26 instrumental classical works from music21's corpus (public-domain
# works; the encodings ship with music21) to audio with TiMidity++ and the FluidR3 GM
# soundfont, labelled "classical": classical music from a source other than
# GTZAN and the game soundtracks, for the experiment in models/README.md
# ("Classical scores rendered"). Not part of the shipped model's training.
# Usage: training/scores/render-classical.sh OUT    (needs apt-get and pip)
set -euo pipefail
out=${1:?usage: render-classical.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/scores"
out=$(cd "$out" && pwd)
command -v timidity >/dev/null && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] ||
  apt-get install -y -qq --no-install-recommends timidity fluid-soundfont-gm >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q music21==10.5.1
"$work/venv/bin/python" "$here/render.py" "$work" > "$work/names"
echo "soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2" > "$work/timidity.cfg"
printf 'genre\tpath\tsplit\tlicence\n' > "$out/labels.tsv"
while read -r name; do
  timidity -c "$work/timidity.cfg" -Ow -s 22050 --output-mono -o "$out/scores/$name.wav" \
    "$work/$name.mid" >/dev/null
  printf 'classical\tscores/%s.wav\ttrain\tpublic-domain score, music21 corpus\n' "$name" >> "$out/labels.tsv"
done < "$work/names"
echo "$(($(wc -l < "$out/labels.tsv") - 1)) works in $out"
