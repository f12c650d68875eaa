#!/usr/bin/env bash
# One-command benchmark of backflow against its own Postgres and backflow-sandbox.
#   bash bench/run.sh [--rows N] [--runs K] [--destinations hubspot,braze,salesforce]
#                     [--small] [--build DIR] [--no-throttle] [--keep] [--output FILE]
# See bench/README.md for what each figure means. Exits non-zero if a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time (for CPU seconds and peak RSS)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q time >/dev/null
  else sudo apt-get install -y -q time >/dev/null; fi
fi
command -v psql >/dev/null || { echo "bench: psql not found (apt-get install postgresql-client)" >&2; exit 2; }
exec python3 bench/bench.py "$@"
