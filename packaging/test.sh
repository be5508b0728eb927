#!/usr/bin/env bash
# Installs what the build and tests need (when missing) and runs the whole
# test suite in release mode (debug candle/symphonia are 15-30x slower).
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
cargo test --release --locked "$@"
