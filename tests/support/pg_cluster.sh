#!/usr/bin/env bash
# A throwaway Postgres cluster for tests, the demo and the benchmark.
#   pg_cluster.sh start DIR   initdb + pg_ctl start on a free loopback port; writes DIR/dsn
#   pg_cluster.sh stop DIR    stops it and removes it
#   pg_cluster.sh halt DIR    stops the server, keeps the cluster (tests of a lost warehouse)
#   pg_cluster.sh resume DIR  starts a halted cluster again, on the same port
# The server runs as the `postgres` user when invoked as root (initdb refuses root). Its
# data directory and socket live in their own postgres-owned directory under /tmp (named
# in DIR/datadir), because DIR may sit in a checkout the postgres user cannot enter.
# BACKFLOW_PG_SHARED_BUFFERS sizes the buffer pool (default 256MB; the benchmark gives its
# warehouse 1GB); `resume` starts the server with the options `start` chose.
set -euo pipefail
cmd=${1:?usage: pg_cluster.sh start|stop DIR}
dir=${2:?usage: pg_cluster.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "${bin:-}/initdb" ] || { echo "pg_cluster.sh: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_cluster() {
  if [ -f "$dir/datadir" ]; then
    local run
    run=$(cat "$dir/datadir")
    if [ -d "$run/data" ]; then
      as_pg "$bin/pg_ctl" -D "$run/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    case "$run" in /tmp/backflow-pg.*) rm -rf "$run" ;; esac
  fi
  rm -rf "$dir"
}

case "$cmd" in
  start)
    if [ -f "$dir/dsn" ] && [ -f "$dir/datadir" ] &&
       as_pg "$bin/pg_ctl" -D "$(cat "$dir/datadir")/data" status >/dev/null 2>&1; then
      exit 0  # already running
    fi
    stop_cluster
    mkdir -p "$dir"
    run=$(mktemp -d /tmp/backflow-pg.XXXXXX)
    chmod 755 "$run"
    [ "$(id -u)" = 0 ] && chown postgres: "$run"
    echo "$run" >"$dir/datadir"
    as_pg "$bin/initdb" -D "$run/data" -A trust -U postgres -E UTF8 --no-sync >"$run/initdb.log" 2>&1 \
      || { cat "$run/initdb.log" >&2; exit 1; }
    echo "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=${BACKFLOW_PG_SHARED_BUFFERS:-256MB}" >"$dir/options"
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
      if as_pg "$bin/pg_ctl" -D "$run/data" -l "$run/server.log" -w -t 30 start \
          -o "-p $port -k $run $(cat "$dir/options")" >/dev/null 2>&1; then
        echo "host=127.0.0.1 port=$port user=postgres dbname=postgres" >"$dir/dsn"
        echo "$port" >"$dir/port"
        chmod a+r "$dir/dsn"
        exit 0
      fi
    done
    cat "$run/server.log" >&2
    exit 1
    ;;
  stop)
    stop_cluster
    ;;
  halt)
    as_pg "$bin/pg_ctl" -D "$(cat "$dir/datadir")/data" -m fast -w stop >/dev/null
    ;;
  resume)
    run=$(cat "$dir/datadir")
    as_pg "$bin/pg_ctl" -D "$run/data" -l "$run/server.log" -w -t 30 start \
      -o "-p $(cat "$dir/port") -k $run $(cat "$dir/options")" \
      >/dev/null
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop|halt|resume DIR" >&2
    exit 2
    ;;
esac
