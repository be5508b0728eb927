#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Sonotag needs to build, test and run,
# skipping those already present. Sourced by run.sh and test.sh.
set -euo pipefail
SONOTAG_PACKAGES=(
  pkg-config libasound2-dev cmake         # build: ALSA (rodio); cmake builds the bundled libopus
  xvfb xauth imagemagick                  # tests: headless window smoke test + screenshot
  python3-pip ffmpeg python3-mutagen      # tests: tag corpus fetch (pip, apt-get source), and two independent tag readers
  fonts-dejavu-core                       # tests: the glyphs the bundled Fira Sans lacks, drawn the same in snapshots
  man-db                                  # tests: the man page renders; check-deb.sh: man sonotag after installing
)
missing=()
for p in "${SONOTAG_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
