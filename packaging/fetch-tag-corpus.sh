#!/usr/bin/env bash
# Fetches the tag corpus: the odd real-world files that two other tag
# libraries keep as test data, mutagen's (its source release, with pip) and
# TagLib's (Debian's source package, with apt-get source), pinned by
# checksum. The ordinary clients fetch them, so the machine's own mirrors
# apply and no registry address is written here. Nothing fetched is
# committed: the files land in target/tag-corpus/ (or $1), where
# tests/tag_corpus.rs finds them. Exits 0 without a corpus when the
# registries cannot be reached; the test then skips and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-target/tag-corpus}"
if [ -f "$dest/.complete" ]; then exit 0; fi
work="$(mktemp -d)"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

MUTAGEN=1.48.1
MUTAGEN_SHA=8f95637ab9f6f305cec6bd1294e197debe207998e3e068596563c74f86b0a173
TAGLIB=1.13
TAGLIB_SHA=58f08b4db3dc31ed152c04896ee9172d22052bc7ef12888028c01d8b1d60ade0

# mutagen's source release, as pip fetches it.
fetch_mutagen() {
  python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
    --dest "$work" "mutagen==$MUTAGEN" >/dev/null 2>&1 ||
  python3 -m pip download --quiet --no-deps --no-binary :all: \
    --dest "$work" "mutagen==$MUTAGEN" >/dev/null 2>&1 || return 1
  echo "$MUTAGEN_SHA  $work/mutagen-$MUTAGEN.tar.gz" | sha256sum -c --quiet -
}

# TagLib's upstream tarball from Debian's source package. Machines often
# list only binary packages; the source lists are read into a private apt
# state made from the machine's own Debian entries, so nothing on the
# machine changes.
fetch_taglib() {
  local apt="$work/apt"
  mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache/archives/partial"
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # deb822 stanzas that name Debian's archive key, as deb-src.
    awk 'BEGIN{RS=""; ORS="\n\n"} /debian-archive-keyring/ {gsub(/Types:[^\n]*/, "Types: deb-src"); print}' \
      "$f" > "$apt/sources.list.d/$(basename "$f")"
  done
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb [^#]*debian' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      > "$apt/sources.list.d/from-sources-list.list" || true
  fi
  local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Debug::NoLocking=1")
  apt-get "${opts[@]}" -qq update >/dev/null 2>&1 || return 1
  (cd "$work" && apt-get "${opts[@]}" -qq source --download-only "taglib" >/dev/null 2>&1) || return 1
  echo "$TAGLIB_SHA  $work/taglib_$TAGLIB.orig.tar.gz" | sha256sum -c --quiet -
}

if ! fetch_mutagen || ! fetch_taglib; then
  echo "tag corpus: could not fetch mutagen's or TagLib's test data; the corpus test will skip" >&2
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest/mutagen" "$dest/taglib"
tar -xzf "$work/mutagen-$MUTAGEN.tar.gz" -C "$work" "mutagen-$MUTAGEN/tests/data"
tar -xzf "$work/taglib_$TAGLIB.orig.tar.gz" -C "$work" "taglib-$TAGLIB/tests/data"
cp -r "$work/mutagen-$MUTAGEN/tests/data/." "$dest/mutagen/"
cp -r "$work/taglib-$TAGLIB/tests/data/." "$dest/taglib/"
touch "$dest/.complete"
echo "tag corpus: $(find "$dest" -type f | wc -l) files in $dest" >&2
