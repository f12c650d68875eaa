#!/usr/bin/env bash
# The demo: a throwaway Postgres with sample GTM data, the destination emulators
# (backflow-sandbox), one sync cycle into HubSpot, then a second one after some rows
# change — printing what was sent each time. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/install-deps.sh
bash scripts/build.sh backflow backflow-sandbox

work=$(mktemp -d /tmp/backflow-demo.XXXXXX)
chmod 755 "$work"
pg="$work/postgres"
cleanup() {
  [ -n "${sandbox_pid:-}" ] && kill "$sandbox_pid" 2>/dev/null || true
  bash "$root/tests/support/pg_cluster.sh" stop "$pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting a throwaway Postgres and loading sample GTM data"
bash tests/support/pg_cluster.sh start "$pg"
dsn=$(cat "$pg/dsn")
psql "$dsn" -q -v ON_ERROR_STOP=1 -f scripts/demo-seed.sql
psql "$dsn" -At -c "SELECT count(*) || ' contacts across ' || count(DISTINCT account_id) || ' accounts' FROM demo.contacts"

say "Starting backflow-sandbox (HubSpot, Salesforce and Braze emulators)"
./build/backflow-sandbox --listen 127.0.0.1:0 --port-file "$work/sandbox.port" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 100); do [ -s "$work/sandbox.port" ] && break; sleep 0.1; done
port=$(cat "$work/sandbox.port")
echo "sandbox at http://127.0.0.1:$port"

export BACKFLOW_WAREHOUSE_DSN="$dsn"
export BACKFLOW_SANDBOX_URL="http://127.0.0.1:$port"
export HUBSPOT_TOKEN=sandbox-hubspot-token
cfg=config/demo.yaml
log="$work/backflow.log"

./build/backflow --config "$cfg" validate

say "Dry run: what the first sync would send (nothing is sent)"
./build/backflow --config "$cfg" plan contact_scores --sample 1% --output "$work/plan.json" >"$work/plan.txt" 2>>"$log"
head -n 24 "$work/plan.txt"
echo "(the full plan, as JSON: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["records"]))' "$work/plan.json") records)"

say "Cycle 1: initial sync of every contact into HubSpot"
./build/backflow --config "$cfg" sync contact_scores 2>>"$log"
curl -s "http://127.0.0.1:$port/_admin/hubspot/counters"; echo
echo "HubSpot now holds $(curl -s "http://127.0.0.1:$port/_admin/hubspot/records" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(v) for v in d.values()) if isinstance(d, dict) else len(d))') contact records."

say "Cycle 2: nothing changed, so nothing is sent"
./build/backflow --config "$cfg" sync contact_scores 2>>"$log"

say "The data team rescores 45 leads and moves some contacts to customer"
psql "$dsn" -q -c "UPDATE demo.contacts SET lead_score = least(100, lead_score + 9), updated_at = now() WHERE user_id IN (SELECT 'user_' || i FROM generate_series(7, 3000, 67) i)"
psql "$dsn" -q -c "UPDATE demo.contacts SET lifecycle_stage = 'customer', updated_at = now() WHERE user_id IN (SELECT 'user_' || i FROM generate_series(11, 3000, 200) i) AND lifecycle_stage <> 'customer'"

say "Cycle 3: only the changed contacts are sent"
./build/backflow --config "$cfg" sync contact_scores 2>>"$log"
echo "What changed, from backflow.change_log (the audit trail):"
psql "$dsn" -P pager=off -c "SELECT warehouse_id, destination_id, operation, changed_fields FROM backflow.change_log WHERE run_id = (SELECT max(run_id) FROM backflow.sync_runs WHERE status <> 'planned') ORDER BY warehouse_id LIMIT 8"

say "backflow status"
./build/backflow --config "$cfg" status 2>>"$log"

say "Runs, from backflow.sync_runs"
psql "$dsn" -P pager=off -c "SELECT run_id, kind, status, rows_read, rows_changed, rows_attempted, rows_succeeded, rows_failed, api_requests FROM backflow.sync_runs ORDER BY run_id"
say "Structured log (first lines)"
head -n 6 "$log"
