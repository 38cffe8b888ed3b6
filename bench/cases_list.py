#!/usr/bin/env python3
"""cases_list.py — time scoped case list pages over HTTP.

Usage: python3 bench/cases_list.py --url http://127.0.0.1:8080 [--pages 20]

Against a running server on the demo store (with its three years of
history), logs in as the demo accounts and times, per account and query,
the first page of GET /api/v1/cases (limit 50; all, and open=true) and a walk of --pages pages
following next_cursor, then the same for GET /open311/v2/requests.json.
Prints the median and the worst of the first pages (5 repeats) and the mean
time per page of the walk. Standard library only.
"""
import argparse
import http.client
import json
import statistics
import time
import urllib.parse


def request(conn, path, token=None, body=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request("POST" if body is not None else "GET", path,
                 json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def timed(conn, path, token):
    t0 = time.perf_counter()
    st, body = request(conn, path, token)
    return time.perf_counter() - t0, st, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--pages", type=int, default=20)
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    tokens = {}
    for name, pw in (("admin", "safegrid-admin"), ("gusu", "safegrid-demo"),
                     ("officer", "safegrid-demo"), ("gridworker", "safegrid-demo")):
        st, body = request(conn, "/api/v1/login", body={"name": name, "password": pw})
        tokens[name] = body["token"]
    st, me = request(conn, "/api/v1/me", tokens["officer"])
    station = me["scope"][0]["id"]
    st, grids = request(conn, "/api/v1/areas?kind=police_grid&parent=%d&limit=1" % station,
                        tokens["officer"])
    grid = grids["areas"][0]["id"]
    st, streets = request(conn, "/api/v1/areas?kind=street&limit=1", tokens["gusu"])
    street = streets["areas"][0]["id"]
    st, comms = request(conn, "/api/v1/areas?kind=community&limit=1", tokens["gusu"])
    community = comms["areas"][0]["id"]

    queries = [
        ("admin", "/api/v1/cases?limit=50"),
        ("gusu", "/api/v1/cases?limit=50"),
        ("officer", "/api/v1/cases?limit=50"),
        ("gridworker", "/api/v1/cases?limit=50"),
        ("officer", "/api/v1/cases?limit=50&area=%d" % grid),
        ("gusu", "/api/v1/cases?limit=50&area=%d" % street),
        ("gusu", "/api/v1/cases?limit=50&area=%d" % community),
        ("admin", "/api/v1/cases?limit=50&open=true"),
        ("gusu", "/api/v1/cases?limit=50&open=true"),
        ("officer", "/api/v1/cases?limit=50&open=true"),
        ("gridworker", "/api/v1/cases?limit=50&open=true"),
        ("officer", "/api/v1/cases?limit=50&open=true&area=%d" % grid),
        ("officer", "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z"),
        ("gridworker", "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z"),
    ]
    print("%-11s %-62s %9s %9s %11s %6s" % ("account", "query", "first p50", "first max",
                                             "walk/page", "rows"))
    for who, path in queries:
        firsts = []
        rows = 0
        for _ in range(5):
            dt, st, body = timed(conn, path, tokens[who])
            if st != 200:
                raise SystemExit("%s %s: %d %s" % (who, path, st, body))
            firsts.append(dt)
            rows = len(body["cases"]) if isinstance(body, dict) else len(body)
        walk = []
        if path.startswith("/api/v1/cases"):
            cursor = None
            for _ in range(args.pages):
                p = path + ("&cursor=" + cursor if cursor else "")
                dt, st, body = timed(conn, p, tokens[who])
                walk.append(dt)
                cursor = body["next_cursor"]
                if not cursor:
                    break
        print("%-11s %-62s %7.1fms %7.1fms %9s %6d" % (
            who, path[:62], statistics.median(firsts) * 1e3, max(firsts) * 1e3,
            "%.1fms" % (statistics.mean(walk) * 1e3) if walk else "-", rows))


if __name__ == "__main__":
    main()
