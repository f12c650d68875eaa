"""The measured scenarios: full / incremental / no-change cycles per destination, and the
throttled runs. Each returns plain dicts that report.py prints and bench.py saves."""

import datetime
import json
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


def _answered_at(entry):
    """When the sandbox answered a logged request, in epoch seconds."""
    return datetime.datetime.fromisoformat(entry["at"].replace("Z", "+00:00")).timestamp()


def _span_seconds(log, fallback):
    """First to last request of the run, from the sandbox's request log."""
    stamps = [_answered_at(e) for e in log if e.get("write")]
    if len(stamps) < 2:
        return fallback
    return max(stamps) - min(stamps)


def _accepted_starts(log):
    """When each accepted write request arrived (its answer's time less its latency), in
    seconds; refused ones hold no place in the API's window."""
    return sorted(_answered_at(e) - e.get("latency_us", 0) / 1e6 for e in log
                  if e.get("write") and 200 <= e.get("status", 0) < 300 and not e.get("fault"))


def window_occupancy(starts, limit, window_s):
    """The budget used under a rolling window of `limit` requests per `window_s`: at each
    instant from the end of the first window to the last request, the share of the
    `limit` places that the requests of the trailing window hold, averaged over that time.
    A client that keeps the window full scores 1.0 whether it sends in bursts (the first
    `limit` at once, then `limit` each time a window's worth ages out) or at a steady
    `limit / window_s`; one that sends at half that rate scores 0.5; a pause before each
    new window shows as the share of the time the window was not full. None when the
    requests span no more than one window."""
    if not starts:
        return None
    begin, end = starts[0] + window_s, starts[-1]
    if end <= begin:
        return None
    held = sum(max(0.0, min(s + window_s, end) - max(s, begin)) for s in starts)
    return held / (limit * (end - begin))


def throttled(ctx, sandbox, dest, limit, window_ms, seconds, hidden=True, index=1):
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
    if ctx.args.keep:  # the sandbox's request log, to see where a window was not kept full
        name = "throttled_%s_%d_run%d.requests.json" % (dest, limit, index)
        with open(os.path.join(ctx.workdir, name), "w") as f:
            json.dump(log, f)
    elapsed = _span_seconds(log, run["wall_s"])
    sent = counters["writes"]
    share = window_occupancy(_accepted_starts(log), limit, window_ms / 1000.0)
    # The formula earlier rounds reported, kept for comparison: it credits the first
    # window's burst and measures the rest against a fluid (N/limit - 1) windows, which a
    # rolling window allows only when N is a multiple of the limit.
    windows = elapsed / (window_ms / 1000.0)
    burst_credited = (sent - limit) / (windows * limit) if windows > 0 and sent > limit else None
    too_many = counters["status"].get("429", 0)
    ctx.log("  %s throttled %d/%dms: %d requests in %.1f s, budget share %s, 429s %d" % (
        dest, limit, window_ms, sent, elapsed, "%.3f" % share if share else "-", too_many))
    result = {"destination": dest, "enforced_by": "hidden" if hidden else "headers",
              "limit": limit, "window_ms": window_ms, "rows": rows,
              "write_requests": sent, "elapsed_s": elapsed, "wall_s": run["wall_s"],
              "budget_share": share, "budget_share_burst_credited": burst_credited,
              "status_429": too_many, "exit": run["exit"],
              "rows_succeeded": run.get("rows_succeeded"), "run_status": run.get("status")}
    checks = [("%s throttled run delivered every row" % dest,
               run["exit"] == 0 and run.get("rows_succeeded") == rows)]
    return result, checks


def summarize_throttled(runs):
    """Medians over the K runs of one throttled scenario, the range of the budget used,
    and every 429 of them; the runs themselves under "runs"."""
    shares = [r["budget_share"] for r in runs if r["budget_share"] is not None]
    out = {k: runs[0][k] for k in ("destination", "enforced_by", "limit", "window_ms", "rows")}
    out.update({
        "write_requests": median([r["write_requests"] for r in runs]),
        "elapsed_s": median([r["elapsed_s"] for r in runs]),
        "budget_share": median(shares),
        "budget_share_min": min(shares) if shares else None,
        "budget_share_max": max(shares) if shares else None,
        "budget_share_burst_credited": median([r["budget_share_burst_credited"] for r in runs]),
        "status_429": sum(r["status_429"] for r in runs),
        "rows_succeeded": min((r["rows_succeeded"] or 0) for r in runs),
        "runs": runs,
    })
    return out
