"""Deadlines escalate by themselves: with the test clock moved past a case's
deadline, the core's timer moves it up the chain (station → district →
city), records it on the history and announces case.escalated on the
stream; a case acted on in time does not escalate."""
import time

from harness import Server, Stream, Suite, is_error

s = Suite("integration/escalation")


def wait_for(fn, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return None


with Server.demo(extra=["--test-clock", "--escalate-every", "50"]) as srv:
    admin = srv.login("admin", "safegrid-admin")
    gusu = srv.login("gusu", "safegrid-demo")
    st, idle = srv.post("/api/v1/reports", {"source": "110", "text": "有人持刀抢劫，正在发生", "lon": 120.62, "lat": 31.31}, token=admin)
    st, acted = srv.post("/api/v1/reports", {"source": "110", "text": "有人打架", "lon": 120.64, "lat": 31.33}, token=admin)
    idle, acted = idle["case"], acted["case"]
    s.check(idle["escalation"] == "station" and idle["priority"] == 1, "a police case starts with its station", idle)
    srv.post("/api/v1/cases/%d/transitions" % acted["id"], {"to": "dispatched", "version": acted["version"]}, token=admin)

    # Nothing escalates before the deadline.
    time.sleep(0.3)
    st, c = srv.get("/api/v1/cases/%d" % idle["id"], token=admin)
    s.check(c["escalation"] == "station" and c["version"] == idle["version"], "no escalation before the deadline", c["escalation"])

    stream = Stream(srv.port, gusu)
    time.sleep(0.2)
    st, body = srv.post("/api/v1/admin/clock", {"advance_s": 301}, token=admin)
    s.check(st == 200, "the test clock moves", body)
    c = wait_for(lambda: (lambda r: r if r["escalation"] == "district" else None)(srv.get("/api/v1/cases/%d" % idle["id"], token=admin)[1]))
    s.check(c is not None, "past its deadline the case escalates to the district by itself")
    if c:
        h = c["history"][-1]
        s.check(h["actor"] == "system" and "escalated to district" in h["note"] and h["from"] == h["to"] == "new",
                "the escalation is on the history", h)
    evs = stream.events(1, timeout=2.0)
    s.check(any(e["event"] == "case.escalated" and e["data"]["id"] == idle["id"] for e in evs),
            "the stream announces case.escalated", evs)
    stream.close()
    st, a = srv.get("/api/v1/cases/%d" % acted["id"], token=admin)
    s.check(a["escalation"] == "station" and a["status"] == "dispatched", "a case acted on in time does not escalate", a["escalation"])

    srv.post("/api/v1/admin/clock", {"advance_s": 301}, token=admin)
    c = wait_for(lambda: (lambda r: r if r["escalation"] == "city" else None)(srv.get("/api/v1/cases/%d" % idle["id"], token=admin)[1]))
    s.check(c is not None, "the next deadline escalates it to the city")
    srv.post("/api/v1/admin/clock", {"advance_s": 3600}, token=admin)
    time.sleep(0.4)
    st, c = srv.get("/api/v1/cases/%d" % idle["id"], token=admin)
    s.check(c["escalation"] == "city" and sum("escalated" in (h["note"] or "") for h in c["history"]) == 2,
            "the city is the top: no further escalation", c["escalation"])

    st, body = srv.post("/api/v1/admin/clock", {"advance_s": -5}, token=admin)
    s.check(st == 400 and is_error(body, field="advance_s"), "the clock only moves forward", body)
    st, body = srv.post("/api/v1/admin/clock", {"advance_s": 5}, token=gusu)
    s.check(st == 403, "only an admin moves the test clock", body)

with Server.demo() as srv:
    admin = srv.login("admin", "safegrid-admin")
    st, body = srv.post("/api/v1/admin/clock", {"advance_s": 5}, token=admin)
    s.check(st == 404, "without --test-clock there is no clock to move", body)
s.done()
