#!/usr/bin/env bash
# Configures and builds backflow into ./build with -j2: every target (binaries and tests),
# or only the targets named on the command line (scripts/build.sh backflow backflow-sandbox).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if (($#)); then
  cmake --build build -j2 --target "$@"
else
  cmake --build build -j2
fi
