#!/usr/bin/env bash
# Installs what Sonotag needs (when missing), builds it in release mode and
# starts it. Arguments go to sonotag (none: the window; `--help`: commands).
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
cargo build --release --locked
exec target/release/sonotag "$@"
