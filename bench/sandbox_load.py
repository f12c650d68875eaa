"""The sandbox alone: a few client processes (keep-alive connections) send full-size write
batches as fast as the sandbox answers, so its ceiling can be compared with backflow's rate.
Processes, not threads, so the client is not held back by Python's GIL."""

import http.client
import json
import multiprocessing
import time
import urllib.parse

from harness import BATCH


def _salesforce_token(url):
    host = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": "sandbox-client",
                                   "client_secret": "sandbox-secret"})
    conn.request("POST", "/services/oauth2/token", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    return json.loads(conn.getresponse().read())["access_token"]


def _request(dest, worker, i, token=None):
    base = (worker * 1000000 + i) * 1000
    n = BATCH[dest]
    if dest == "hubspot":
        inputs = [{"id": str(base + k), "idProperty": "warehouse_id",
                   "properties": {"warehouse_id": str(base + k), "email": "u%d@example.com" % k,
                                  "lead_score": str(k % 100)}} for k in range(n)]
        return ("POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs},
                {"Authorization": "Bearer sandbox-hubspot-token"})
    if dest == "salesforce":
        records = [{"attributes": {"type": "Lead"}, "ExternalId__c": str(base + k),
                    "Email": "u%d@example.com" % k, "Lead_Score__c": k % 100}
                   for k in range(n)]
        return ("PATCH", "/services/data/v60.0/composite/sobjects/Lead/ExternalId__c",
                {"allOrNone": False, "records": records}, {"Authorization": "Bearer " + token})
    # braze
    attributes = [{"external_id": str(base + k), "email": "u%d@example.com" % k,
                   "lead_score": k % 100} for k in range(n)]
    return ("POST", "/users/track", {"attributes": attributes},
            {"Authorization": "Bearer sandbox-braze-key"})


def _worker(args):
    url, dest, worker, seconds = args
    host = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    done, errors, i = 0, 0, 0
    # Bodies are built before the clock starts: the client's own JSON work is not measured.
    token = _salesforce_token(url) if dest == "salesforce" else None
    bodies = [_request(dest, worker, k, token) for k in range(50)]
    encoded = [(m, p, json.dumps(b).encode(), h) for m, p, b, h in bodies]
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < deadline:
        method, path, body, headers = encoded[i % len(encoded)]
        headers = dict(headers, **{"Content-Type": "application/json"})
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        res.read()
        if res.status >= 300 and res.status != 207:
            errors += 1
        done += 1
        i += 1
    return done, errors, time.monotonic() - start


def measure(url, dest, seconds, workers=4):
    """Write requests/s and records/s the sandbox sustains for `dest`."""
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(_worker, [(url, dest, w, seconds) for w in range(workers)])
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    return {"destination": dest, "workers": workers, "seconds": elapsed, "requests": done,
            "errors": errors, "requests_per_s": done / elapsed,
            "records_per_s": done * BATCH[dest] / elapsed}
