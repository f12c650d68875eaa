"""The pieces the benchmark drives: a throwaway Postgres, backflow-sandbox, and the real
backflow binary run under GNU time. Python 3 standard library only."""

import json
import os
import shutil
import signal
import statistics
import subprocess
import time
import urllib.request

# Destination name in the config -> (emulator name in the sandbox, destination type).
EMULATOR = {"hubspot": "hubspot", "braze": "braze", "salesforce": "salesforce"}
# Records per write request (each API's maximum; backflow clamps batch_size to it).
BATCH = {"hubspot": 100, "braze": 75, "salesforce": 200}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Postgres:
    """tests/support/pg_cluster.sh start|stop DIR, and psql for SQL."""

    def __init__(self, root, workdir, shared_buffers):
        self.script = os.path.join(root, "tests/support/pg_cluster.sh")
        self.dir = os.path.join(workdir, "postgres")
        env = dict(os.environ, BACKFLOW_PG_SHARED_BUFFERS=shared_buffers)
        subprocess.run(["bash", self.script, "start", self.dir], check=True, env=env)
        with open(os.path.join(self.dir, "dsn")) as f:
            self.dsn = f.read().strip()

    def sql(self, statement):
        out = subprocess.run(["psql", self.dsn, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                              "-c", statement], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        subprocess.run(["bash", self.script, "stop", self.dir], check=False)


# Daily budgets far above any benchmark's traffic.
DAILY = {"hubspot": {"daily_limit": 1000000000}, "salesforce": {"daily_limit": 1000000000}}
# Unthrottled: no API's limit applies or is reported. (HubSpot's emulator reports an
# unlimited interval budget by default; Braze's enforces and reports its real 3,000 per
# 3 s, and backflow paces itself by what the headers say, so it is lifted here.)
UNTHROTTLED_SANDBOX = dict(DAILY, braze={"rate_limit": {"requests": 1000000000, "per_ms": 3000}})
# The emulators' defaults: Braze enforces its real limit and reports it in every answer
# (the throttled runs add each API's real limit as a hidden rate limit, which refuses
# with a 429).
REAL_LIMITS_SANDBOX = DAILY


class Sandbox:
    """backflow-sandbox --listen 127.0.0.1:0 --port-file F --config NAME.json."""

    def __init__(self, build, workdir, name="sandbox", options=UNTHROTTLED_SANDBOX):
        config = os.path.join(workdir, name + ".json")
        with open(config, "w") as f:
            json.dump(options, f)
        port_file = os.path.join(workdir, name + ".port")
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(build, "backflow-sandbox"), "--listen", "127.0.0.1:0",
             "--port-file", port_file, "--config", config],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("backflow-sandbox did not start; see %s.log" % name)
            time.sleep(0.05)  # waiting for a server to come up
        with open(port_file) as f:
            self.url = "http://127.0.0.1:%d" % int(f.read().strip())

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as res:
            return json.loads(res.read() or b"null")

    def reset(self):
        self._call("POST", "/_admin/reset", {})

    def counters(self, emulator):
        return self._call("GET", "/_admin/%s/counters" % emulator)

    def request_log(self, emulator):
        return self._call("GET", "/_admin/%s/requests" % emulator)

    def faults(self, emulator, spec):
        self._call("POST", "/_admin/%s/faults" % emulator, spec)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def destination_yaml(dest, url, rate_limit, max_concurrency):
    rl = "{ requests: %d, per: %s }" % rate_limit
    if dest == "hubspot":
        body = ["    type: hubspot", '    base_url: "%s"' % url,
                "    token: sandbox-hubspot-token"]
    elif dest == "braze":
        body = ["    type: braze", '    base_url: "%s"' % url, "    api_key: sandbox-braze-key"]
    else:
        body = ["    type: salesforce", '    login_url: "%s"' % url, '    api_version: "v60.0"',
                "    auth:", "      flow: client_credentials", "      client_id: sandbox-client",
                "      client_secret: sandbox-secret"]
        # BENCH_SF_BULK_THRESHOLD: rows above which Salesforce syncs use Bulk API 2.0
        # (backflow's default 10000); set it high to measure the composite path.
        if os.environ.get("BENCH_SF_BULK_THRESHOLD"):
            body.append("    bulk_threshold: %s" % os.environ["BENCH_SF_BULK_THRESHOLD"])
    body += ["    rate_limit: %s" % rl, "    max_concurrency: %d" % max_concurrency]
    return ["  %s:" % dest] + body


def sync_yaml(name, dest, table, strategy):
    if dest == "hubspot":
        obj, match = "contacts", ["    match: { id_property: warehouse_id }"]
        fields = {"warehouse_id": "id", "email": "email", "lead_score": "score",
                  "segment": "segment"}
    elif dest == "braze":
        obj, match = "users", []  # the primary key is the external_id
        fields = {"email": "email", "lead_score": "score", "segment": "segment"}
    else:
        obj, match = "Lead", ["    match: { external_id_field: ExternalId__c }"]
        fields = {"Email": "email", "Lead_Score__c": "score", "Segment__c": "segment"}
    lines = ["  %s:" % name, '    moment: "benchmark"', "    destination: %s" % dest,
             "    object: %s" % obj, "    model: { table: %s }" % table,
             "    primary_key: id"] + match + ["    fields:"]
    lines += ["      %s: %s" % kv for kv in fields.items()]
    if strategy == "updated_at":
        # The seeded rows are days old: a short lookback re-reads only what just changed.
        lines.append("    change_detection: { strategy: updated_at, column: updated_at, "
                     "lookback: 1m }")
    else:
        lines.append("    change_detection: { strategy: hash }")
    lines.append("    schedule: { every: 1h }")
    return lines


def write_config(path, url, dests, syncs, rate_limits, max_concurrency):
    """syncs: [(name, dest, table, strategy)]; rate_limits: dest -> (requests, per)."""
    lines = ["warehouse:", '  dsn: "${BACKFLOW_WAREHOUSE_DSN}"', "  state_schema: backflow",
             "observability:", "  log_format: json", "  log_level: info", "destinations:"]
    for d in dests:
        lines += destination_yaml(d, url, rate_limits[d], max_concurrency)
    lines.append("syncs:")
    for s in syncs:
        lines += sync_yaml(*s)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Backflow:
    """Runs `backflow --config CFG sync NAME` under GNU time and reads its sync_runs row."""

    def __init__(self, build, workdir, pg):
        self.binary = os.path.join(build, "backflow")
        self.workdir = workdir
        self.pg = pg
        self.time = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"
        self.env = dict(os.environ, BACKFLOW_WAREHOUSE_DSN=pg.dsn)
        self.count = 0
        self.timeout_s = None  # seconds per backflow run; None: no limit

    def run(self, config, args):
        self.count += 1
        timing = os.path.join(self.workdir, "time.%d" % self.count)
        log_path = os.path.join(self.workdir, "backflow.%d.log" % self.count)
        with open(log_path, "w") as log:
            start = time.monotonic()
            proc = subprocess.Popen([self.time, "-f", "%U %S %M", "-o", timing, self.binary,
                                     "--config", config] + args, stdout=log,
                                    stderr=subprocess.STDOUT, env=self.env,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = "timeout"
                # The server would go on running the dead client's statement.
                self.pg.sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
            wall = time.monotonic() - start
        user = system = rss_kb = None
        if os.path.exists(timing):
            lines = [l for l in open(timing).read().splitlines() if l.strip()]
            if lines and len(lines[-1].split()) == 3:
                user, system, rss_kb = [float(x) for x in lines[-1].split()]
        if user is None:
            return {"exit": rc, "wall_s": wall, "cpu_s": None, "user_s": None, "sys_s": None,
                    "peak_rss_mb": None, "log": log_path}
        return {"exit": rc, "wall_s": wall, "cpu_s": user + system, "user_s": user,
                "sys_s": system, "peak_rss_mb": rss_kb / 1024.0, "log": log_path}

    def sync(self, config, name, extra=()):
        result = self.run(config, ["sync", name] + list(extra))
        row = self.pg.sql(
            "SELECT status, rows_read, rows_changed, rows_attempted, rows_succeeded, "
            "rows_failed, api_requests FROM backflow.sync_runs WHERE sync_name = '%s' "
            "AND kind = 'sync' ORDER BY run_id DESC LIMIT 1" % name)
        keys = ["status", "rows_read", "rows_changed", "rows_attempted", "rows_succeeded",
                "rows_failed", "api_requests"]
        values = row.split("|") if row else [None] * len(keys)
        for k, v in zip(keys, values):
            result[k] = v if k == "status" or v is None else int(v)
        if result["exit"] != 0:
            with open(result["log"]) as f:
                result["log_tail"] = f.read()[-2000:]
        return result

    def reset_state(self):
        self.pg.sql("DROP SCHEMA IF EXISTS backflow CASCADE")
