#!/usr/bin/env bash
# Builds target/debian/sonotag_*.deb: the binary, the default model, the
# icon, the desktop file, the AppStream metainfo, the manual, the man pages
# and the bash, zsh and fish completions (metadata in Cargo.toml,
# [package.metadata.deb]). The man pages and completions are made by the
# built binary from its own command-line definition (sonotag help-files).
# Install with: sudo apt install ./target/debian/sonotag_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo build --release --locked
rm -rf target/help
target/release/sonotag help-files target/help >/dev/null
gzip -9n target/help/man/*.1
cargo deb --locked --no-build "$@"
ls -l target/debian/*.deb
