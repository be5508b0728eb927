#!/usr/bin/env bash
# Builds target/debian/sonotag_*.deb: the binary, the default model, the
# icon, the desktop file and the AppStream metainfo (metadata in Cargo.toml,
# [package.metadata.deb]). Install with: sudo apt install ./target/debian/sonotag_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo deb --locked "$@"
ls -l target/debian/*.deb
