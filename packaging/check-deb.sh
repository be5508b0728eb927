#!/usr/bin/env bash
# The .deb as a user gets it: builds it, installs it with apt, runs the
# installed sonotag (--version, then scan + classify of a fixture with the
# packaged model, nothing from the source tree), and removes it again.
# Changes the machine (installs and removes a package): CI runs it after
# the tests (.ci/run); run it yourself only where that is fine. Needs root
# or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
packaging/build-deb.sh >/dev/null
deb=$(ls -t target/debian/sonotag_*.deb | head -1)
$sudo apt-get install -y -qq "./$deb" >/dev/null
trap '$sudo apt-get remove -y -qq sonotag >/dev/null' EXIT
installed=/usr/bin/sonotag
"$installed" --version
work=$(mktemp -d)
mkdir -p "$work/music" "$work/elsewhere"
cp tests/fixtures/musicnn-golden.wav "$work/music/clip.wav"
# Run from a folder outside the source tree, so only the installed files
# can be found.
cd "$work/elsewhere"
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
"$installed" --db "$work/lib.sqlite" scan "$work/music"
out=$("$installed" --db "$work/lib.sqlite" classify)
echo "$out"
echo "$out" | grep -q "1 classified" || { echo "the installed sonotag did not classify the fixture" >&2; exit 1; }
"$installed" --db "$work/lib.sqlite" models | tee "$work/models.txt"
grep -q "/usr/share/sonotag/models/default" "$work/models.txt" ||
  { echo "the installed sonotag did not use the packaged model" >&2; exit 1; }
cd /
rm -rf "$work"
echo "ok: $deb installs, classifies with its packaged model, and is removed"
