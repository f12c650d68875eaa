"""The measured scenarios: full / incremental / no-change cycles per destination, and the
throttled runs. Each returns plain dicts that report.py prints and bench.py saves."""

import datetime
import os

from harness import BATCH, EMULATOR, median, write_config

UNTHROTTLED = (1000000, "1s")
TABLE = "bench.users"


def seed(pg, table, rows):
    """`rows` users; updated_at is days old so an updated_at sync's lookback skips them."""
    pg.sql("CREATE SCHEMA IF NOT EXISTS bench; DROP TABLE IF EXISTS %s;" % table)
    pg.sql("CREATE TABLE %s (id bigint PRIMARY KEY, email text NOT NULL, score integer NOT NULL,"
           " segment text NOT NULL, updated_at timestamptz NOT NULL)" % table)
    pg.sql("INSERT INTO %s SELECT i, 'user' || i || '@example.com', (i * 37) %% 101, "
           "(ARRAY['low', 'medium', 'high'])[1 + i %% 3], "
           "now() - interval '7 days' - (i %% 86400) * interval '1 second' "
           "FROM generate_series(1, %d) AS i" % (table, rows))
    pg.sql("CREATE INDEX ON %s (updated_at); ANALYZE %s" % (table, table))


def change_one_percent(pg, table):
    pg.sql("UPDATE %s SET score = score + 1, updated_at = now() WHERE id %% 100 = 0" % table)


def write_main_config(ctx):
    path = os.path.join(ctx.workdir, "backflow.yaml")
    syncs = []
    for d in ctx.dests:
        syncs.append(("%s_hash" % d, d, TABLE, "hash"))
        syncs.append(("%s_updated_at" % d, d, TABLE, "updated_at"))
    write_config(path, ctx.sandbox.url, ctx.dests, syncs, {d: UNTHROTTLED for d in ctx.dests},
                 ctx.max_concurrency)
    return path


def _writes(ctx, dest):
    return ctx.sandbox.counters(EMULATOR[dest])["writes"]


def cycle(ctx, config, dest, strategy, rows):
    """Fresh state and sandbox; full sync, 1% change + incremental, then a no-change run."""
    ctx.backflow.reset_state()
    ctx.sandbox.reset()
    name = "%s_%s" % (dest, strategy)
    full = ctx.backflow.sync(config, name)
    ctx.log("  %s %-10s full        %7.2f s  %s" % (dest, strategy, full["wall_s"],
                                                     full.get("status")))
    change_one_percent(ctx.pg, TABLE)
    before = _writes(ctx, dest)
    incr = ctx.backflow.sync(config, name)
    incr["writes"] = _writes(ctx, dest) - before
    ctx.log("  %s %-10s incremental %7.2f s  sent %s" % (dest, strategy, incr["wall_s"],
                                                         incr.get("rows_attempted")))
    before = _writes(ctx, dest)
    none = ctx.backflow.sync(config, name)
    none["writes"] = _writes(ctx, dest) - before
    ctx.log("  %s %-10s no-change   %7.2f s  writes %d" % (dest, strategy, none["wall_s"],
                                                           none["writes"]))
    expected = rows // 100
    checks = [
        ("%s %s full sync exit 0 and every row delivered" % (dest, strategy),
         full["exit"] == 0 and full.get("rows_succeeded") == rows),
        ("%s %s incremental sent exactly the 1%% (%d rows)" % (dest, strategy, expected),
         incr["exit"] == 0 and incr.get("rows_attempted") == expected
         and incr.get("rows_succeeded") == expected),
        ("%s %s no-change run made 0 write requests" % (dest, strategy),
         none["exit"] == 0 and none["writes"] == 0),
    ]
    return {"full": full, "incremental": incr, "no_change": none}, checks


def summarize(runs, rows):
    """Medians over K cycles, with the ratios the README explains."""
    def med(phase, key):
        return median([r[phase].get(key) for r in runs])

    full_wall = med("full", "wall_s")
    out = {
        "rows": rows,
        "full": {"wall_s": full_wall, "rows_per_s": rows / full_wall if full_wall else None,
                 "cpu_s": med("full", "cpu_s"),
                 "cpu_s_per_100k": (med("full", "cpu_s") or 0) * 100000.0 / rows,
                 "peak_rss_mb": med("full", "peak_rss_mb"),
                 "api_requests": med("full", "api_requests")},
        "incremental": {"wall_s": med("incremental", "wall_s"),
                        "rows_sent": med("incremental", "rows_attempted"),
                        "expected_rows": rows // 100,
                        "api_requests": med("incremental", "api_requests"),
                        "peak_rss_mb": med("incremental", "peak_rss_mb")},
        "no_change": {"wall_s": med("no_change", "wall_s"),
                      "write_requests": med("no_change", "writes"),
                      "peak_rss_mb": med("no_change", "peak_rss_mb")},
    }
    reqs = out["full"]["api_requests"]
    out["full"]["requests_per_s"] = reqs / full_wall if reqs and full_wall else None
    for phase in ("incremental", "no_change"):
        w = out[phase]["wall_s"]
        out[phase]["share_of_full"] = w / full_wall if w is not None and full_wall else None
    return out


def _span_seconds(log, fallback):
    """First to last request of the run, from the sandbox's request log."""
    stamps = [datetime.datetime.fromisoformat(e["at"]) for e in log if e.get("write")]
    if len(stamps) < 2:
        return fallback
    return (max(stamps) - min(stamps)).total_seconds()


def throttled(ctx, sandbox, dest, limit, window_ms, seconds, hidden=True):
    """backflow is configured with the limit. hidden: `sandbox` enforces it as a hidden
    rate limit (refused with a 429) and reports what the real API reports; otherwise the
    emulator itself was started with the limit, which it enforces and reports in its
    headers."""
    requests = int(seconds * 1000 / window_ms * limit)
    rows = requests * BATCH[dest]
    table = "bench.throttle_%s" % dest
    seed(ctx.pg, table, rows)
    config = os.path.join(ctx.workdir, "throttled_%s.yaml" % dest)
    per = "%dms" % window_ms
    write_config(config, sandbox.url, [dest], [("%s_throttled" % dest, dest, table, "hash")],
                 {dest: (limit, per)}, ctx.max_concurrency)
    ctx.backflow.reset_state()
    sandbox.reset()
    emulator = EMULATOR[dest]
    if hidden:
        sandbox.faults(emulator, {"hidden_rate_limit": {"requests": limit, "per_ms": window_ms}})
    try:
        run = ctx.backflow.sync(config, "%s_throttled" % dest)
        counters = sandbox.counters(emulator)
        log = sandbox.request_log(emulator)
    finally:
        sandbox.faults(emulator, {})
    ctx.pg.sql("DROP TABLE %s" % table)
    elapsed = _span_seconds(log, run["wall_s"])
    sent = counters["writes"]
    # A rolling window allows `limit` at once, then `limit` per window: the share counts
    # the requests after the first window's worth against what the limit allows in the
    # time they took (an ideal client sending N requests needs (N/limit - 1) windows).
    windows = elapsed / (window_ms / 1000.0)
    share = (sent - limit) / (windows * limit) if windows > 0 and sent > limit else None
    too_many = counters["status"].get("429", 0)
    ctx.log("  %s throttled %d/%dms: %d requests in %.1f s, budget share %s, 429s %d" % (
        dest, limit, window_ms, sent, elapsed, "%.2f" % share if share else "-", too_many))
    result = {"destination": dest, "enforced_by": "hidden" if hidden else "headers",
              "limit": limit, "window_ms": window_ms, "rows": rows,
              "write_requests": sent, "elapsed_s": elapsed, "wall_s": run["wall_s"],
              "budget_share": share, "status_429": too_many, "exit": run["exit"],
              "rows_succeeded": run.get("rows_succeeded"), "run_status": run.get("status")}
    checks = [("%s throttled run delivered every row" % dest,
               run["exit"] == 0 and run.get("rows_succeeded") == rows)]
    return result, checks
