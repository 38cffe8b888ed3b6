"""Case actions, dispatches and unit steps wait for their commit without
holding the HTTP worker: with one worker and many keep-alive connections
working their own cases at once (dispatch, acknowledge, arrive, a stale
transition, resolve, clear, close), every request is answered once with the
right version or 409, the steps share fsyncs (a worker that slept on each
commit would give one per command), and racing writers of one case get one
success and 409s naming the winner's version."""
import http.client
import json
import threading

from harness import Server, Suite, syncs_between

s = Suite("integration/actions_wait")

CONNS = 24
RACERS = 12


class Conn:
    """One keep-alive connection; each call sends one request and reads its one answer."""

    def __init__(self, port, tok):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        self.c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                       headers=self.h)
        r = self.c.getresponse()
        return r.status, json.loads(r.read().decode("utf-8"))

    def close(self):
        self.c.close()


def worker(port, tok, case, uid, out, errors):
    """The life of one case on one connection; records what went wrong, if anything."""
    c = Conn(port, tok)
    cid, v = case["id"], case["version"]
    bad = []

    def expect(what, ok, got):
        if not ok:
            bad.append((cid, what, got))

    try:
        st, b = c.call("POST", "/api/v1/cases/%d/dispatch" % cid, {"unit_ids": [uid], "version": v})
        expect("dispatch", st == 201 and b.get("case_id") == cid and b.get("case_status") == "dispatched"
               and b.get("case_version") == v + 1 and b["dispatches"][0]["unit_id"] == uid, (st, b))
        v += 1
        st, b = c.call("POST", "/api/v1/units/%d/status" % uid, {"action": "acknowledge"})
        expect("acknowledge", st == 200 and b["unit"]["id"] == uid and b["dispatch"]["case_id"] == cid
               and b["dispatch"]["status"] == "acknowledged", (st, b))
        v += 1  # the acknowledgement is a line on the case's history
        st, b = c.call("POST", "/api/v1/units/%d/status" % uid, {"action": "arrive", "note": "到达%d" % cid})
        expect("arrive", st == 200 and b["unit"]["status"] == "on_scene" and b["dispatch"]["case_id"] == cid,
               (st, b))
        st, b = c.call("GET", "/api/v1/cases/%d" % cid)
        expect("read after arrive", st == 200 and b["id"] == cid and b["status"] == "on_scene", (st, b))
        v = b["version"]
        st, b = c.call("POST", "/api/v1/cases/%d/transitions" % cid, {"to": "resolved", "version": v - 1})
        expect("stale transition", st == 409 and b["error"]["code"] == "conflict"
               and b["error"]["current_version"] == v, (st, b))
        st, b = c.call("POST", "/api/v1/cases/%d/transitions" % cid,
                       {"to": "resolved", "version": v, "note": "处置完毕%d" % cid})
        expect("resolve", st == 200 and b["id"] == cid and b["status"] == "resolved" and b["version"] == v + 1,
               (st, b))
        v += 1
        st, b = c.call("POST", "/api/v1/units/%d/status" % uid, {"action": "clear"})
        expect("clear", st == 200 and b["unit"]["status"] == "available" and b["dispatch"]["status"] == "cleared",
               (st, b))
        st, b = c.call("POST", "/api/v1/units/%d/status" % uid, {"action": "clear"})
        expect("clear twice", st == 409 and b["error"]["code"] == "invalid_transition"
               and b["error"]["status"] == "available", (st, b))
        st, b = c.call("GET", "/api/v1/cases/%d" % cid)
        v = b["version"]
        st, b = c.call("POST", "/api/v1/cases/%d/transitions" % cid, {"to": "closed", "version": v})
        expect("close", st == 200 and b["status"] == "closed" and b["version"] == v + 1, (st, b))
        st, b = c.call("POST", "/api/v1/cases/%d/transitions" % cid, {"to": "nowhere", "version": v + 1})
        expect("bad state answered at once", st == 400 and b["error"]["field"] == "to", (st, b))
        out.append((cid, v + 1))
    except Exception as e:  # a lost or doubled answer desynchronises the connection
        bad.append((cid, "exception", repr(e)))
    finally:
        c.close()
    errors.extend(bad)


def racer(port, tok, cid, version, barrier, out):
    c = Conn(port, tok)
    try:
        barrier.wait()
        out.append(c.call("POST", "/api/v1/cases/%d/transitions" % cid, {"to": "resolved", "version": version}))
    finally:
        c.close()


def report(srv, tok, k, i):
    # Apart from each other, so that none joins another's case.
    st, r = srv.post("/api/v1/reports", {"source": "110", "text": "小区门口有人打架%d-%d" % (k, i),
                                         "lon": 120.55 + 0.004 * k, "lat": 31.28 + 0.01 * i}, token=tok)
    if st != 201:
        raise RuntimeError("report: %s %s" % (st, r))
    return r["case"]


def main():
    with Server.demo(extra=("--threads", "1")) as srv:
        admin = srv.login("admin", "safegrid-admin")
        cases = [report(srv, admin, k, 0) for k in range(CONNS)]
        st, units = srv.get("/api/v1/units?area=320508&status=available&limit=%d" % CONNS, token=admin)
        uids = [u["id"] for u in units.get("units", [])]
        s.check(st == 200 and len(uids) == CONNS, "the demo has available units to send", (st, len(uids)))

        st, before = srv.get("/metrics")
        results, errors = [], []
        threads = [threading.Thread(target=worker, args=(srv.port, admin, cases[k], uids[k], results, errors))
                   for k in range(min(CONNS, len(uids)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st, after = srv.get("/metrics")
        s.check(not errors and len(results) == CONNS,
                "every step of %d cases on one worker is answered once, with its version or 409" % CONNS,
                errors[:3])
        # Seven store commands per case: dispatch, acknowledge, arrive, resolve, clear, the second
        # clear (refused by the command itself, against the unit's state) and close; the stale
        # transition is refused before any command.
        writes = 7 * CONNS
        syncs, commands = syncs_between(before, after)
        s.check(commands >= writes and syncs < writes * 0.75,
                "actions waiting on one worker share fsyncs (%d commands, %d fsyncs)" % (commands, syncs))
        wrong = []
        for cid, version in results:
            st, b = srv.get("/api/v1/cases/%d" % cid, token=admin)
            hist = [h["to"] for h in b.get("history", [])]
            if st != 200 or b["status"] != "closed" or b["version"] != version or hist[-2:] != ["resolved", "closed"]:
                wrong.append((cid, st, b.get("status"), b.get("version"), version, hist))
        s.check(not wrong, "every acknowledged step is stored, in order, at the version answered", wrong[:3])
        st, b = srv.get("/api/v1/units/%d" % uids[0], token=admin)
        s.check(st == 200 and b["status"] == "available", "the units are available again", b.get("status"))

        # --- racing writers of one case: one wins, the others learn its version
        case = report(srv, admin, 0, 3)
        barrier = threading.Barrier(RACERS)
        answers = []
        threads = [threading.Thread(target=racer, args=(srv.port, admin, case["id"], case["version"], barrier, answers))
                   for _ in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [b for st, b in answers if st == 200]
        lost = [b for st, b in answers if st == 409]
        s.check(len(answers) == RACERS and len(won) == 1 and len(lost) == RACERS - 1,
                "of %d racing transitions one wins and the others get 409" % RACERS,
                [st for st, _ in answers])
        s.check(won and all(b["error"]["code"] == "conflict" and b["error"]["current_version"] == won[0]["version"]
                            for b in lost),
                "every 409 names the winner's version", lost[:2])
        st, b = srv.get("/api/v1/cases/%d" % case["id"], token=admin)
        s.check(st == 200 and [h["to"] for h in b["history"]].count("resolved") == 1,
                "the case is resolved once", b.get("history"))

        # --- refusals still come at once, and change nothing
        st, b = srv.post("/api/v1/cases/%d/dispatch" % case["id"], {"unit_ids": [uids[1]], "version": 1}, token=admin)
        s.check(st == 409 and b["error"]["current_version"] == won[0]["version"],
                "a stale dispatch is refused with the current version", b)
        st, b = srv.post("/api/v1/units/%d/status" % uids[1], {"action": "teleport"}, token=admin)
        s.check(st == 400 and b["error"]["field"] == "action", "a bad unit action is refused", b)
        s.check(srv.stop() == 0, "the server stops cleanly")
    s.done()


if __name__ == "__main__":
    main()
