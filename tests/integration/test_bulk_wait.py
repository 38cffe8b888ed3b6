"""Bulk NDJSON events and Open311 requests waiting for their commits do not
hold the HTTP worker: with one worker and many keep-alive connections, the
requests sent at once share fsyncs (a worker that slept on each commit
would give at least one per request), every one is answered once with its
own results, and everything acknowledged is stored."""
import http.client
import json
import sqlite3
import threading
import time
import urllib.parse

from harness import Server, Suite, syncs_between

s = Suite("integration/bulk_wait")

CONNS = 24
EACH = 4


def batch(k, i, uid, t0):
    """Request i of connection k: 1-3 reports, two positions of the connection's
    unit, and one bad line at a place of its own; returns the body and what
    the answer must say."""
    nrep = 1 + (k + i) % 3
    lines = []
    for j in range(nrep):
        # Apart from each other, so that none joins another's case.
        lines.append({"kind": "report", "source": "110", "text": "小区门口有人打架%d-%d-%d" % (k, i, j),
                      "lon": 120.55 + 0.004 * k, "lat": 31.28 + 0.003 * (3 * i + j)})
    for j in range(2):
        lines.append({"kind": "unit_position", "unit_id": uid, "lon": 120.60 + 0.001 * k,
                      "lat": 31.30 + 0.0001 * (2 * i + j), "at": t0 + 1000 * (2 * i + j)})
    bad = (k + i) % len(lines)
    lines.insert(bad, {"kind": "report", "source": "110", "text": "", "lon": 120.6, "lat": 31.3})
    body = "\n".join(json.dumps(l, ensure_ascii=False) for l in lines).encode()
    return body, nrep + 2, bad + 1


def eventer(port, tok, k, uid, t0, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/x-ndjson"}
    for i in range(EACH):
        body, accepted, bad_line = batch(k, i, uid, t0)
        c.request("POST", "/api/v1/events", body=body, headers=h)
        r = c.getresponse()
        out.append((r.status, json.loads(r.read().decode("utf-8")), accepted, bad_line))
    c.close()


def filer(port, tok, k, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/x-www-form-urlencoded"}
    for i in range(EACH):
        f = {"service_code": "municipal_facilities", "description": "路灯坏了好几天了%d-%d" % (k, i),
             "long": "%.6f" % (120.55 + 0.004 * k), "lat": "%.6f" % (31.28 + 0.01 * i + 0.0015)}
        c.request("POST", "/open311/v2/requests.json", body=urllib.parse.urlencode(f).encode(), headers=h)
        r = c.getresponse()
        out.append((r.status, json.loads(r.read().decode("utf-8")), k, i))
    c.close()


def main():
    with Server.demo(extra=("--threads", "1")) as srv:
        admin = srv.login("admin", "safegrid-admin")

        # --- NDJSON batches: reports, positions and a bad line each
        st, units = srv.get("/api/v1/units?area=320508&limit=%d" % CONNS, token=admin)
        uids = [u["id"] for u in units["units"]]
        s.check(len(uids) == CONNS, "the demo has a unit per connection", len(uids))
        t0 = int(time.time() * 1000) - 60000
        st, before = srv.get("/metrics")
        results = []
        threads = [threading.Thread(target=eventer, args=(srv.port, admin, k, uids[k], t0, results))
                   for k in range(len(uids))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st, after = srv.get("/metrics")
        n = len(uids) * EACH
        wrong = [(st, b, acc, bad) for st, b, acc, bad in results
                 if st != 200 or b.get("accepted") != acc or [x["line"] for x in b.get("rejected", [])] != [bad]
                 or b["rejected"][0]["error"].get("field") != "text"]
        s.check(len(results) == n and not wrong,
                "every batch on one worker is answered once with its own count and bad line", wrong[:3])
        syncs, commands = syncs_between(before, after)
        # Each batch is two commands (its reports, then its positions).
        s.check(commands >= 2 * n and syncs < n * 0.75,
                "batches waiting on one worker share fsyncs (%d commands, %d fsyncs)" % (commands, syncs))
        con = sqlite3.connect(srv.db)
        want = sum(1 + (k + i) % 3 for k in range(len(uids)) for i in range(EACH))
        stored = con.execute("SELECT count(*) FROM reports WHERE text LIKE '小区门口有人打架%-%-%'").fetchone()[0]
        s.check(stored == want, "every accepted report is stored", (stored, want))
        tracked = con.execute("SELECT count(*) FROM unit_positions WHERE at>=? AND at<?",
                              (t0, t0 + 1000 * 2 * EACH)).fetchone()[0]
        s.check(tracked == 2 * n, "every accepted position is on its unit's track", (tracked, 2 * n))
        con.close()
        st, b, _ = srv.request("POST", "/api/v1/events", raw=b'{"kind":"report"}', token=admin,
                               headers={"Content-Type": "application/json"})
        s.check(st == 415 and b["error"].get("field") == "Content-Type", "a bad request is still refused at once", b)

        # --- Open311 requests, the same way
        st, before = srv.get("/metrics")
        results = []
        threads = [threading.Thread(target=filer, args=(srv.port, admin, k, results)) for k in range(CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st, after = srv.get("/metrics")
        n = CONNS * EACH
        s.check(len(results) == n and all(st == 201 and len(b) == 1 for st, b, _, _ in results),
                "every Open311 request on one worker is acknowledged with 201",
                [(st, b) for st, b, _, _ in results if st != 201][:3])
        ids = {b[0]["service_request_id"] for st, b, _, _ in results if st == 201}
        s.check(len(ids) == n, "each answer names its own request", len(ids))
        syncs, commands = syncs_between(before, after)
        s.check(commands >= n and syncs < n * 0.75,
                "Open311 requests waiting on one worker share fsyncs (%d commands, %d fsyncs)" % (commands, syncs))
        wrong = []
        for st, b, k, i in results:
            rid = b[0]["service_request_id"]
            st, one = srv.get("/open311/v2/requests/%s.json" % rid, token=admin)
            if st != 200 or one[0]["description"] != "路灯坏了好几天了%d-%d" % (k, i):
                wrong.append((rid, st, one))
        s.check(not wrong, "every acknowledged request is stored with its own text", wrong[:3])
        st, b, _ = srv.request("POST", "/open311/v2/requests.json", raw=b"service_code=municipal_facilities",
                               token=admin, headers={"Content-Type": "application/x-www-form-urlencoded"})
        s.check(st == 400 and b["error"].get("field"), "a bad Open311 request is still refused at once", b)
        s.check(srv.stop() == 0, "the server stops cleanly")
    s.done()


if __name__ == "__main__":
    main()
