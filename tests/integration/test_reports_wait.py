"""Writes waiting for their commit do not hold the HTTP worker: with one
worker and many keep-alive connections, the reports (and unit positions)
sent at once share fsyncs (a worker that slept on each commit would give
one per commit), and every one is acknowledged once, stored and readable."""
import http.client
import json
import sqlite3
import threading
import time

from harness import Server, Suite, metric, syncs_between

s = Suite("integration/reports_wait")

CONNS = 24
EACH = 4


def client(port, tok, k, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    for i in range(EACH):
        # Apart from each other, so that none joins another's case.
        body = {"source": "110", "text": "小区门口有人打架%d-%d" % (k, i),
                "lon": 120.55 + 0.004 * k, "lat": 31.28 + 0.01 * i}
        c.request("POST", "/api/v1/reports", body=json.dumps(body).encode(), headers=h)
        r = c.getresponse()
        out.append((r.status, json.loads(r.read().decode("utf-8"))))
    c.close()


def mover(port, tok, uid, lon, lat, t0, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    for i in range(EACH):
        body = {"lon": lon + 0.0005 * (i + 1), "lat": lat, "at": t0 + 1000 * i}
        c.request("PUT", "/api/v1/units/%d/position" % uid, body=json.dumps(body).encode(), headers=h)
        r = c.getresponse()
        out.append((r.status, json.loads(r.read().decode("utf-8")), uid))
    c.close()


def main():
    with Server.demo(extra=("--threads", "1")) as srv:
        admin = srv.login("admin", "safegrid-admin")
        st, before = srv.get("/metrics")
        results = []
        threads = [threading.Thread(target=client, args=(srv.port, admin, k, results)) for k in range(CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st, after = srv.get("/metrics")
        n = CONNS * EACH
        s.check(len(results) == n and all(st == 201 for st, _ in results),
                "every report on one worker is acknowledged with 201",
                [st for st, _ in results if st != 201][:5])
        reports = {b["report"]["id"] for st, b in results if st == 201}
        cases = {b["case"]["id"] for st, b in results if st == 201}
        s.check(len(reports) == n and len(cases) == n, "each answer names its own report and case",
                (len(reports), len(cases)))
        syncs, commands = syncs_between(before, after)
        s.check(commands >= n and syncs < n * 0.75,
                "reports waiting on one worker share fsyncs (%d commands, %d fsyncs)" % (commands, syncs))
        missing = []
        for cid in sorted(cases):
            st, c = srv.get("/api/v1/cases/%d" % cid, token=admin)
            if st != 200 or c["id"] != cid:
                missing.append((cid, st))
        s.check(not missing, "every acknowledged case is stored", missing[:5])
        st, b = srv.post("/api/v1/reports", {"source": "110", "text": "", "lon": 120.6, "lat": 31.3}, token=admin)
        s.check(st == 400 and b["error"].get("field") == "text", "a bad report is still refused at once", b)

        # --- unit positions, the same way
        st, units = srv.get("/api/v1/units?area=320508&limit=%d" % CONNS, token=admin)
        units = [{"id": u["id"], "lon": 120.60 + 0.001 * k, "lat": 31.30} for k, u in enumerate(units["units"])]
        s.check(len(units) >= CONNS // 2, "the demo has units to move", len(units))
        t0 = int(time.time() * 1000) - 60000
        st, before = srv.get("/metrics")
        results = []
        threads = [threading.Thread(target=mover, args=(srv.port, admin, u["id"], u["lon"], u["lat"], t0, results))
                   for u in units]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st, after = srv.get("/metrics")
        n = len(units) * EACH
        s.check(len(results) == n and all(st == 200 and b["unit_id"] == uid for st, b, uid in results),
                "every position on one worker is acknowledged with 200 for its unit",
                [(st, b) for st, b, _ in results if st != 200][:3])
        syncs = metric(after, "safegrid_store_syncs_total") - metric(before, "safegrid_store_syncs_total")
        s.check(syncs < n * 0.75, "positions waiting on one worker share fsyncs (%d positions, %d fsyncs)" % (n, syncs))
        con = sqlite3.connect(srv.db)
        tracked = sum(con.execute("SELECT count(*) FROM unit_positions WHERE unit_id=? AND at=? AND abs(lon-?)<1e-6",
                                  (u["id"], t0 + 1000 * i, u["lon"] + 0.0005 * (i + 1))).fetchone()[0]
                      for u in units for i in range(EACH))
        con.close()
        s.check(tracked == n, "every acknowledged position is on its unit's track", (tracked, n))
        s.check(srv.stop() == 0, "the server stops cleanly")
    s.done()


if __name__ == "__main__":
    main()
