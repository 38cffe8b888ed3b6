#!/usr/bin/env python3
"""callers.py — time the repeat-caller lookup (POST /api/v1/reports/by-caller).

Usage: python3 bench/callers.py --db COPY_OF_A_DEMO_STORE [--reports 1000000]
                                [--bin build/safegrid] [--repeats 20]

Adds --reports reports to the store (the demo's history has cases but few
reports), each to an existing case, received over the last year, from numbers
drawn so that a few call very often (Zipf-like): the shape of a city's 110
line. Then starts `safegrid serve` on the store and times, per kind of number
(the most frequent caller, a regular with about five a month, a number never
heard), the lookup over HTTP (30 days, limit 20) as a commander, and as a
station officer, who sees only the station's few among the newest 2,000; and the
same question asked of raw SQLite twice: through the index, and by a scan of
the table (what a lookup would cost without it). Prints medians and the
ratio. Standard library only; the store is changed, so pass a copy.
"""
import argparse
import http.client
import json
import random
import socket
import sqlite3
import statistics
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, path, token=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request("POST" if body is not None else "GET", path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def serve(binary, db, port, log):
    """Starts `safegrid serve` on db and waits until it answers."""
    proc = subprocess.Popen([binary, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if request(port, "/healthz")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start")


def fill(db, n, rnd):
    con = sqlite3.connect(db)
    cases = con.execute("SELECT min(id), max(id) FROM cases").fetchone()
    if cases[0] is None:
        raise SystemExit("the store has no cases: pass a copy of a demo store (safegrid demo --db FILE)")
    now = int(time.time())
    numbers = ["139%08d" % i for i in range(max(n // 8, 10))]
    # Zipf-like: weight 1/rank, so the first number calls far more than the rest.
    weights = [1.0 / (i + 1) for i in range(len(numbers))]
    picks = rnd.choices(numbers, weights=weights, k=n)
    t0 = time.perf_counter()
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO reports(case_id,source,text,lon,lat,reported_at,received_at,caller_name,caller_phone,category)"
        " VALUES(?,?,?,?,?,?,?,?,?,?)",
        ((rnd.randint(*cases), "110", "bench report", 120.62, 31.32, t, t, None,
          p if i % 3 else "+86 " + p[:3] + "-" + p[3:7] + "-" + p[7:], "noise")
         for i, (p, t) in enumerate((p, now - rnd.randint(0, 365 * 86400)) for p in picks)))
    con.commit()
    took = time.perf_counter() - t0
    counts = {}
    for p in picks:
        counts[p] = counts.get(p, 0) + 1
    con.close()
    return counts, took


def median_ms(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--bin", default="build/safegrid")
    ap.add_argument("--reports", type=int, default=1000000)
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    rnd = random.Random(11)

    # The server migrates the store first, so that the index exists while filling.
    port = free_port()
    log = open(a.db + ".bench.log", "w")
    proc = serve(a.bin, a.db, port, log)
    try:
        proc.terminate()
        proc.wait()
        counts, took = fill(a.db, a.reports, rnd)
        print("filled %d reports from %d numbers in %.1f s (%.1f µs a report, index included)"
              % (a.reports, len(counts), took, took * 1e6 / a.reports))
        proc = serve(a.bin, a.db, port, log)
        tokens = {who: request(port, "/api/v1/login", body={"name": who, "password": "safegrid-demo"})[1]["token"]
                  for who in ("commander", "officer")}
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        regular = next(p for p, n in ranked if n <= 60)
        con = sqlite3.connect(a.db)
        since = int(time.time()) - 30 * 86400
        print("%-40s %9s %10s %10s %12s %9s" % ("number (reports in the year), as", "listed", "HTTP ms", "index ms",
                                                "scan ms", "scan÷HTTP"))
        for what, phone, who in (("most frequent", ranked[0][0], "commander"), ("a regular", regular, "commander"),
                                 ("never heard", "13700000000", "commander"), ("most frequent", ranked[0][0], "officer")):
            token = tokens[who]

            def http_lookup():
                st, body = request(port, "/api/v1/reports/by-caller", token, {"phone": phone})
                assert st == 200, (st, body)
            st, body = request(port, "/api/v1/reports/by-caller", token, {"phone": phone})
            got = len(body["reports"])
            q = ("SELECT id FROM reports %s WHERE caller_key=? AND received_at>=? ORDER BY received_at DESC LIMIT 21")
            h = median_ms(http_lookup, a.repeats)
            i = median_ms(lambda: con.execute(q % "INDEXED BY reports_caller", (phone, since)).fetchall(), a.repeats)
            sc = median_ms(lambda: con.execute(q % "NOT INDEXED", (phone, since)).fetchall(), max(3, a.repeats // 5))
            print("%-40s %9d %10.2f %10.3f %12.1f %8.0f×" % ("%s (%d), %s" % (what, counts.get(phone, 0), who),
                                                            got, h, i, sc, sc / h))
        con.close()
    finally:
        proc.terminate()
        proc.wait()
        log.close()


if __name__ == "__main__":
    main()
