#!/usr/bin/env bash
# Installs, builds and runs every test (against a real Postgres started by ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 900
