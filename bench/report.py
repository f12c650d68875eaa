"""Prints the benchmark's results as tables (the JSON file holds the same figures)."""


def _f(value, fmt="%.2f"):
    return "-" if value is None else fmt % value


def _table(title, header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else []
    print("\n" + title)
    if not rows:
        print("  (none)")
        return
    line = "  " + "  ".join("%-*s" % (w, h) for w, h in zip(widths, header))
    print(line)
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + "  ".join("%-*s" % (w, str(c)) for w, c in zip(widths, r)))


def print_report(results):
    meta = results["meta"]
    if results["sizes"]:
        print("\n=== backflow benchmark: %d rows, median of %d run(s), max_concurrency %d ===" % (
            meta["rows"], meta["runs"], meta["max_concurrency"]))
    else:
        print("\n=== backflow benchmark: throttled runs only ===")
    for size in results["sizes"]:
        rows = size["rows"]
        full, incr, none = [], [], []
        for dest, strategies in size["destinations"].items():
            for strategy, s in strategies.items():
                f = s["full"]
                full.append([dest, strategy, _f(f["wall_s"]), _f(f["rows_per_s"], "%.0f"),
                             _f(f["cpu_s_per_100k"]), _f(f["peak_rss_mb"], "%.1f"),
                             _f(f["api_requests"], "%d"), _f(f["requests_per_s"], "%.0f")])
                i = s["incremental"]
                incr.append([dest, strategy, _f(i["wall_s"]), _pct(i["share_of_full"]),
                             "%s / %d" % (_f(i["rows_sent"], "%d"), i["expected_rows"]),
                             _f(i["api_requests"], "%d")])
                n = s["no_change"]
                none.append([dest, strategy, _f(n["wall_s"]), _pct(n["share_of_full"]),
                             _f(n["write_requests"], "%d"), _f(n["peak_rss_mb"], "%.1f")])
        _table("Initial full sync, %d rows" % rows,
               ["dest", "strategy", "wall s", "rows/s", "CPU s/100k", "peak RSS MB",
                "API requests", "req/s"], full)
        _table("Incremental run after changing 1%% of %d rows" % rows,
               ["dest", "strategy", "wall s", "of full", "rows sent / 1%", "API requests"], incr)
        _table("No-change run, %d rows" % rows,
               ["dest", "strategy", "wall s", "of full", "write requests", "peak RSS MB"], none)
    if results.get("rss_scaling"):
        _table("Peak RSS against N (full sync, hash)",
               ["dest", "RSS small MB", "RSS large MB", "rows small", "rows large", "ratio"],
               [[r["destination"], _f(r["rss_small_mb"], "%.1f"), _f(r["rss_large_mb"], "%.1f"),
                 r["rows_small"], r["rows_large"], _f(r["ratio"])]
                for r in results["rss_scaling"]])
    if results.get("throttled"):
        _table("Throttled runs (the sandbox enforces the limit, hidden or in the emulator's "
               "own headers; backflow set to the same)",
               ["dest", "limit", "enforced", "write requests", "elapsed s", "budget used",
                "(runs)", "429s", "delivered"],
               [[t["destination"], "%d/%gs" % (t["limit"], t["window_ms"] / 1000.0),
                 t.get("enforced_by", "hidden"),
                 t["write_requests"], _f(t["elapsed_s"], "%.1f"), _pct(t["budget_share"]),
                 "%s-%s" % (_pct(t.get("budget_share_min")), _pct(t.get("budget_share_max"))),
                 t["status_429"], "%s / %d" % (t["rows_succeeded"], t["rows"])]
                for t in results["throttled"]])
    if results.get("sandbox_alone"):
        _table("The sandbox alone (%d client processes, full-size batches)"
               % results["sandbox_alone"][0]["workers"],
               ["dest", "req/s", "records/s", "backflow full-sync req/s", "backflow share"],
               [[s["destination"], _f(s["requests_per_s"], "%.0f"),
                 _f(s["records_per_s"], "%.0f"), _f(s.get("backflow_requests_per_s"), "%.0f"),
                 _pct(s.get("backflow_share"))] for s in results["sandbox_alone"]])
    print("\nChecks:")
    for name, ok in results["checks"]:
        print("  [%s] %s" % ("ok" if ok else "FAIL", name))


def _pct(value):
    return "-" if value is None else "%.1f%%" % (100.0 * value)
