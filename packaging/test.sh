#!/usr/bin/env bash
# Installs what the build and tests need (when missing) and runs the whole
# test suite in release mode (debug candle/symphonia are 15-30x slower).
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
# Other tag libraries' test files, for the "only the genre changes" test.
packaging/fetch-tag-corpus.sh
if [ -f target/tag-corpus/.complete ]; then export SONOTAG_REQUIRE_TAG_CORPUS=1; fi
cargo test --release --locked "$@"
