"""The demo simulator (serve --demo --simulate RATE): reports arrive, new
police cases are dispatched by the policy, units acknowledge and move (their
positions are fresh and stored on their tracks), all on the live stream; the
server still stops cleanly."""
import time

from harness import Server, Stream, Suite

s = Suite("integration/simulate")


def wait_for(fn, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return None


srv = Server.demo(extra=["--demo", "--no-history", "--simulate", "3000"])
with srv:
    admin = srv.login("admin", "safegrid-admin")
    stream = Stream(srv.port, admin)
    cases = wait_for(lambda: (lambda b: b["cases"] if len(b["cases"]) >= 5 else None)(
        srv.get("/api/v1/cases?limit=100", token=admin)[1]))
    s.check(cases is not None, "simulated reports open cases")
    dispatched = wait_for(lambda: [c for c in srv.get("/api/v1/cases?limit=100", token=admin)[1]["cases"]
                                   if c["status"] == "dispatched"])
    s.check(bool(dispatched), "new police cases are dispatched by the policy")
    acked = None
    if dispatched:
        def any_acked():
            for c in srv.get("/api/v1/cases?status=dispatched&limit=100", token=admin)[1]["cases"]:
                st, ds = srv.get("/api/v1/cases/%d/dispatches" % c["id"], token=admin)
                if any(d["acknowledged_at"] for d in ds["dispatches"]):
                    return ds
            return None
        acked = wait_for(any_acked, timeout=30)
    s.check(acked is not None, "dispatched units acknowledge by themselves")
    st, n = srv.get("/api/v1/units/nearest?lon=120.6285&lat=31.3237&k=5&type=patrol_car", token=admin)
    s.check(st == 200 and len(n["units"]) == 5 and all(time.time() * 1000 - x["unit"]["position"]["at_ms"] < 60000 for x in n["units"]),
            "units report fresh positions", n.get("unit_shortfall"))
    evs = stream.events(50, timeout=3.0)
    kinds = {e["event"] for e in evs}
    s.check({"case.created", "dispatch.updated", "unit.updated"} <= kinds, "the city lives on the stream", kinds)
    stream.close()
    import sqlite3
    con = sqlite3.connect(srv.db)
    tracks = con.execute("SELECT count(*) FROM unit_positions").fetchone()[0]
    con.close()
    s.check(tracks > 1000, "positions are kept on the units' tracks", tracks)
    rc = srv.stop()
    s.check(rc == 0, "the server stops cleanly with the simulator running", rc)

s.done()
