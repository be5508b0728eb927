#!/usr/bin/env bash
# The .deb as a user gets it: builds it, installs it with apt, runs the
# installed sonotag (--version, man sonotag, the completions, then scan + classify of a fixture with the
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
# The man pages and completions came with it.
MANPAGER=cat MANWIDTH=80 man sonotag | grep -q "sonotag-scan" ||
  { echo "man sonotag does not show the installed page" >&2; exit 1; }
MANPAGER=cat man sonotag-apply | grep -q -- "--dry-run" ||
  { echo "man sonotag-apply is missing" >&2; exit 1; }
for f in /usr/share/bash-completion/completions/sonotag \
         /usr/share/zsh/vendor-completions/_sonotag \
         /usr/share/fish/vendor_completions.d/sonotag.fish \
         /usr/share/doc/sonotag/THIRD-PARTY.md /usr/share/doc/sonotag/docs/window.md; do
  [ -s "$f" ] || { echo "$f was not installed" >&2; exit 1; }
done
bash -c 'source /usr/share/bash-completion/completions/sonotag && complete -p sonotag' >/dev/null ||
  { echo "the bash completion does not register" >&2; exit 1; }
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
