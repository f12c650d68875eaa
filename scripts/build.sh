#!/usr/bin/env bash
# Configures and builds backflow (binaries and tests) into ./build with -j2.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
