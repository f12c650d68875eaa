"""backflow benchmark driver (run it through bench/run.sh). See bench/README.md."""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402
import sandbox_load  # noqa: E402
import scenarios  # noqa: E402
from harness import REAL_LIMITS_SANDBOX, Backflow, Postgres, Sandbox  # noqa: E402

ALL_DESTINATIONS = ["hubspot", "braze", "salesforce"]
# The APIs' real limits: (requests, window ms, seconds of traffic for the throttled run).
# HubSpot: 190 / 10 s (Professional and Enterprise private apps); Braze: 3,000 / 3 s.
THROTTLE = {"hubspot": (190, 10000, 60), "braze": (3000, 3000, 10)}
# --small: the same limits scaled down to a ~5 s HubSpot run.
THROTTLE_SMALL = {"hubspot": (20, 2000, 5)}
# Braze's limit enforced and reported by its emulator (X-RateLimit-Remaining, a reset in
# whole seconds), at a tenth of the real one so that backflow's speed is not what bounds
# the budget used: 2,100 requests, 157,500 rows.
BRAZE_HEADERS = (300, 3000, 21)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__)
    p.add_argument("--rows", type=int, default=1000000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--destinations", default=",".join(ALL_DESTINATIONS))
    p.add_argument("--small", action="store_true",
                   help="CI mode: --rows 20000 --runs 1, a 5 s throttled run; fails unless "
                        "the incremental and no-change runs are exact")
    p.add_argument("--build", default="build", help="build directory (an optimised build)")
    p.add_argument("--max-concurrency", type=int, default=8)
    p.add_argument("--no-throttle", action="store_true", help="skip the throttled runs")
    p.add_argument("--throttle-seconds", default="",
                   help="seconds of traffic per throttled run, e.g. hubspot=60,braze=10")
    p.add_argument("--only-throttle", action="store_true",
                   help="only the throttled runs and the sandbox-alone figures")
    p.add_argument("--no-scaling", action="store_true", help="skip the 100k-row RSS comparison")
    p.add_argument("--sandbox-seconds", type=float, default=3.0)
    p.add_argument("--pg-shared-buffers", default="1GB",
                   help="the warehouse's buffer pool: room for the model and the state a "
                        "1M-row sync writes (about 1 GB), as a production server would have")
    p.add_argument("--output", help="JSON file (default bench/results/<timestamp>.json)")
    p.add_argument("--run-timeout", type=float, default=1800,
                   help="kill a backflow run after this many seconds (it then counts as failed)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs)")
    args = p.parse_args(argv)
    if args.small:
        args.rows, args.runs, args.sandbox_seconds = 20000, 1, 1.0
    args.dests = [d.strip() for d in args.destinations.split(",") if d.strip()]
    for d in args.dests:
        if d not in ALL_DESTINATIONS:
            p.error("unknown destination %r (choose from %s)" % (d, ", ".join(ALL_DESTINATIONS)))
    return args


class Context:
    def __init__(self, args, root, workdir):
        self.args = args
        self.dests = args.dests
        self.max_concurrency = args.max_concurrency
        self.workdir = workdir
        self.build = os.path.abspath(os.path.join(root, args.build)) \
            if not os.path.isabs(args.build) else args.build
        self.pg = None
        self.sandbox = None
        self.backflow = None
        self.started = time.monotonic()

    def log(self, message):
        print("[%6.1fs] %s" % (time.monotonic() - self.started, message), flush=True)


def sizes_for(args):
    if args.small or args.no_scaling or args.rows <= 100000:
        return [args.rows]
    return [100000, args.rows]  # the smaller one shows RSS does not grow with N


def run_sizes(ctx, config, results, checks):
    sizes = sizes_for(ctx.args)
    for rows in sizes:
        ctx.log("seeding %d rows" % rows)
        scenarios.seed(ctx.pg, scenarios.TABLE, rows)
        size = {"rows": rows, "destinations": {}, "raw": {}}
        for dest in ctx.dests:
            # updated_at is measured at the largest N only (it repeats the full sync).
            strategies = ["hash"] + (["updated_at"] if rows == sizes[-1] else [])
            size["destinations"][dest] = {}
            size["raw"][dest] = {}
            for strategy in strategies:
                runs = ctx.args.runs if strategy == "hash" else 1
                cycles = []
                for _ in range(runs):
                    c, cs = scenarios.cycle(ctx, config, dest, strategy, rows)
                    cycles.append(c)
                    checks.extend(cs)
                size["destinations"][dest][strategy] = scenarios.summarize(cycles, rows)
                size["raw"][dest][strategy] = cycles
        results["sizes"].append(size)
    if len(sizes) > 1:
        small, large = results["sizes"][0], results["sizes"][-1]
        for dest in ctx.dests:
            a = small["destinations"][dest]["hash"]["full"]["peak_rss_mb"]
            b = large["destinations"][dest]["hash"]["full"]["peak_rss_mb"]
            results["rss_scaling"].append(
                {"destination": dest, "rows_small": small["rows"], "rows_large": large["rows"],
                 "rss_small_mb": a, "rss_large_mb": b, "ratio": b / a if a and b else None})


def run_sandbox_alone(ctx, results):
    last = results["sizes"][-1]["destinations"] if results["sizes"] else {}
    for dest in ctx.dests:
        ctx.sandbox.reset()
        m = sandbox_load.measure(ctx.sandbox.url, dest, ctx.args.sandbox_seconds)
        bf = last.get(dest, {}).get("hash", {}).get("full", {}).get("requests_per_s")
        m["backflow_requests_per_s"] = bf
        m["backflow_share"] = bf / m["requests_per_s"] if bf and m["requests_per_s"] else None
        ctx.log("  sandbox alone %s: %.0f req/s" % (dest, m["requests_per_s"]))
        results["sandbox_alone"].append(m)
    ctx.sandbox.reset()


def run_throttled(ctx, results, checks):
    table = dict(THROTTLE_SMALL if ctx.args.small else THROTTLE)
    for item in filter(None, ctx.args.throttle_seconds.split(",")):
        dest, _, seconds = item.partition("=")
        if dest in table:
            table[dest] = table[dest][:2] + (float(seconds),)
    runs = []  # (sandbox name, its options, dest, limit, window ms, seconds, hidden)
    for dest in ctx.dests:
        if dest in table:
            runs.append(("sandbox-real-limits-" + dest, REAL_LIMITS_SANDBOX, dest) + table[dest]
                        + (True,))
    if "braze" in ctx.dests and not ctx.args.small:
        limit, window_ms, seconds = BRAZE_HEADERS
        options = dict(REAL_LIMITS_SANDBOX,
                       braze={"rate_limit": {"requests": limit, "per_ms": window_ms}})
        runs.append(("sandbox-braze-headers", options, "braze", limit, window_ms, seconds, False))
    for name, options, dest, limit, window_ms, seconds, hidden in runs:
        each = []
        with Sandbox(ctx.build, ctx.workdir, name, options) as sandbox:
            for index in range(1, ctx.args.runs + 1):
                r, cs = scenarios.throttled(ctx, sandbox, dest, limit, window_ms, seconds, hidden,
                                            index)
                each.append(r)
                checks.extend(cs)
        results["throttled"].append(scenarios.summarize_throttled(each))


def git_revision(root):
    try:
        return subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv):
    args = parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    workdir = tempfile.mkdtemp(prefix="backflow-bench.")
    os.chmod(workdir, 0o755)  # the Postgres server may run as another user
    ctx = Context(args, root, workdir)
    for binary in ("backflow", "backflow-sandbox"):
        if not os.access(os.path.join(ctx.build, binary), os.X_OK):
            print("bench: %s/%s not found; build it first (an optimised build: "
                  "-DCMAKE_BUILD_TYPE=RelWithDebInfo)" % (ctx.build, binary), file=sys.stderr)
            return 2
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results = {"meta": {"timestamp": stamp, "rows": args.rows, "runs": args.runs,
                        "small": args.small, "destinations": ctx.dests,
                        "max_concurrency": args.max_concurrency, "build": ctx.build,
                        "git": git_revision(root), "cpus": os.cpu_count(),
                        "pg_shared_buffers": args.pg_shared_buffers},
               "sizes": [], "rss_scaling": [], "throttled": [], "sandbox_alone": [],
               "checks": []}
    checks = results["checks"]
    try:
        ctx.log("starting Postgres and backflow-sandbox in %s" % workdir)
        ctx.pg = Postgres(root, workdir, args.pg_shared_buffers)
        ctx.sandbox = Sandbox(ctx.build, workdir)
        ctx.backflow = Backflow(ctx.build, workdir, ctx.pg)
        ctx.backflow.timeout_s = args.run_timeout
        config = scenarios.write_main_config(ctx)
        if not args.only_throttle:
            run_sizes(ctx, config, results, checks)
        if not args.no_throttle:
            ctx.log("throttled runs")
            run_throttled(ctx, results, checks)
        ctx.log("the sandbox alone")
        run_sandbox_alone(ctx, results)
    finally:
        if ctx.sandbox:
            ctx.sandbox.stop()
        if ctx.pg:
            ctx.pg.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", workdir], check=False)
    if not args.keep:  # log paths die with the temp dir
        for size in results["sizes"]:
            for dest in size["raw"].values():
                for cycles in dest.values():
                    for c in cycles:
                        for phase in c.values():
                            phase.pop("log", None)
    report.print_report(results)
    out = args.output or os.path.join(root, "bench", "results", stamp + ".json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print("\nresults: %s%s" % (out, "   (kept %s)" % workdir if args.keep else ""))
    failed = [name for name, ok in checks if not ok]
    if failed:
        print("bench: %d check(s) failed" % len(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
