#!/usr/bin/env bash
# Fetches the tag corpus: the odd real-world files that two other tag
# libraries keep as test data (mutagen's from PyPI, TagLib's from Debian's
# archive), pinned by checksum. Nothing fetched is committed: the files land
# in target/tag-corpus/ (or $1), where tests/tag_corpus.rs finds them.
# Exits 0 without a corpus when the registries cannot be reached; the test
# then skips and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-target/tag-corpus}"
if [ -f "$dest/.complete" ]; then exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # url sha256 file
  curl -sSfL --retry 2 -o "$work/$3" "$1" && echo "$2  $work/$3" | sha256sum -c --quiet -
}

taglib_url="http://deb.debian.org/debian/pool/main/t/taglib/taglib_1.13.orig.tar.gz"
mutagen_url="https://files.pythonhosted.org/packages/df/70/1675da133ea92227da41bf5b24e1c66be597ff736a1533ade41da986852f/mutagen-1.48.1.tar.gz"
if ! fetch "$mutagen_url" 8f95637ab9f6f305cec6bd1294e197debe207998e3e068596563c74f86b0a173 mutagen.tar.gz ||
   ! fetch "$taglib_url" 58f08b4db3dc31ed152c04896ee9172d22052bc7ef12888028c01d8b1d60ade0 taglib.tar.gz; then
  echo "tag corpus: could not fetch mutagen's or TagLib's test data; the corpus test will skip" >&2
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest/mutagen" "$dest/taglib"
tar -xzf "$work/mutagen.tar.gz" -C "$work" mutagen-1.48.1/tests/data
tar -xzf "$work/taglib.tar.gz" -C "$work" taglib-1.13/tests/data
cp -r "$work"/mutagen-1.48.1/tests/data/. "$dest/mutagen/"
cp -r "$work"/taglib-1.13/tests/data/. "$dest/taglib/"
touch "$dest/.complete"
echo "tag corpus: $(find "$dest" -type f | wc -l) files in $dest" >&2
