"""Dispatch over real HTTP: by hand and by the policy (with its shortfall),
the unit state machine and its conflicts, each step on the case's history
and the live stream, escalation of an unanswered dispatch, take-over and
reassignment by a higher commander, and response-time statistics."""
import time

from harness import Server, Stream, Suite, is_error

s = Suite("integration/dispatch")


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
    officer = srv.login("officer", "safegrid-demo")
    analyst = srv.login("analyst", "safegrid-demo")
    st, me = srv.get("/api/v1/me", token=officer)
    station = me["scope"][0]
    st, orgs = srv.get("/api/v1/orgs?kind=station&area=%d" % station["id"], token=officer)
    station_org = orgs["orgs"][0]["id"]

    # Every demo position is made stale, so only this test's units are candidates.
    srv.post("/api/v1/admin/clock", {"advance_s": 400}, token=admin)

    # A place inside the officer's station: a grid's middle, found through the units listed there.
    st, units = srv.get("/api/v1/units?area=%d&type=patrol_car&limit=1" % station["id"], token=officer)
    base = units["units"][0]["position"]
    P = (base["lon"], base["lat"])

    def unit(callsign, utype="patrol_car", dx=0.0, dy=0.0, token=officer):
        st, u = srv.post("/api/v1/units", {"type": utype, "callsign": callsign, "org_id": station_org,
                                           "area": station["id"], "lon": P[0] + dx, "lat": P[1] + dy}, token=token)
        if st != 201:
            raise RuntimeError("unit: %s %s" % (st, u))
        return u["id"]

    # Each case has its own category: reports of one category this close would join one case.
    def report(text, dx=0.0):
        st, r = srv.post("/api/v1/reports", {"source": "110", "text": text, "lon": P[0] + dx, "lat": P[1]}, token=admin)
        if st not in (200, 201):
            raise RuntimeError("report: %s %s" % (st, r))
        return r["case"]

    def status(uid, action, token=officer):
        return srv.post("/api/v1/units/%d/status" % uid, {"action": action}, token=token)

    stream = Stream(srv.port, gusu)
    time.sleep(0.2)

    # ---- by hand, and the unit's steps ----
    c = report("我的电动车被偷了")
    s.check(c["police"] and c["status"] == "new", "a theft opens a new incident", c)
    u1 = unit("D-1", dx=0.0003)
    u2 = unit("D-2", dx=0.0006)
    st, d = srv.post("/api/v1/cases/%d/dispatch" % c["id"], {"unit_ids": [u1]}, token=officer)
    s.check(st == 201 and d["case_status"] == "dispatched" and d["dispatches"][0]["unit_id"] == u1 and
            d["dispatches"][0]["status"] == "assigned" and d["dispatches"][0]["first"], "a unit is dispatched by hand", d)
    st, u = srv.get("/api/v1/units/%d" % u1, token=officer)
    s.check(u["status"] == "dispatched" and u["case_id"] == c["id"], "the unit is dispatched to the case", u)
    st, body = srv.post("/api/v1/cases/%d/dispatch" % c["id"], {"unit_ids": [u1]}, token=officer)
    s.check(st == 409 and body["error"]["unit_id"] == u1 and body["error"]["field"] == "unit_ids",
            "a unit already dispatched cannot be dispatched again", body)
    st, body = srv.post("/api/v1/cases/%d/dispatch" % c["id"], {"unit_ids": [u2, u2]}, token=officer)
    s.check(st == 400 and is_error(body, "invalid", "unit_ids"), "a unit named twice is refused")
    st, body = srv.post("/api/v1/cases/%d/dispatch" % c["id"], {"unit_ids": [u2], "auto": True}, token=officer)
    s.check(st == 400 and is_error(body, "invalid", "unit_ids"), "unit_ids or auto, not both")
    st, body = srv.post("/api/v1/cases/%d/dispatch" % c["id"], {"unit_ids": [u2]}, token=analyst)
    s.check(st == 403, "an analyst dispatches no one")
    st, body = status(u1, "arrive", token=analyst)
    s.check(st == 403, "an analyst moves no unit")

    st, body = status(u1, "acknowledge")
    s.check(st == 200 and body["dispatch"]["status"] == "acknowledged" and body["dispatch"]["acknowledged_at"],
            "the crew acknowledges", body)
    st, body = status(u1, "acknowledge")
    s.check(st == 409 and body["error"]["code"] == "invalid_transition", "acknowledging twice is a conflict", body)
    st, body = status(u1, "on_duty")
    s.check(st == 409 and body["error"]["status"] == "dispatched", "a dispatched unit is already on duty", body)
    st, body = status(u1, "arrive")
    s.check(st == 200 and body["unit"]["status"] == "on_scene" and body["dispatch"]["arrived_at"], "the unit arrives", body)
    st, cc = srv.get("/api/v1/cases/%d" % c["id"], token=officer)
    s.check(cc["status"] == "on_scene", "the case follows its first unit on scene", cc["status"])
    st, body = status(u1, "arrive")
    s.check(st == 409, "arriving twice is a conflict")
    st, body = status(u1, "clear")
    s.check(st == 200 and body["unit"]["status"] == "available" and body["unit"]["case_id"] is None and
            body["dispatch"]["status"] == "cleared", "the unit clears and is available again", body)
    st, body = status(u1, "clear")
    s.check(st == 409 and body["error"]["status"] == "available", "clearing an available unit is a conflict", body)
    notes = [h["note"] or "" for h in srv.get("/api/v1/cases/%d" % c["id"], token=officer)[1]["history"]]
    s.check(any("dispatched D-1" in n for n in notes) and any("D-1: acknowledge" in n for n in notes) and
            any("D-1: arrive" in n for n in notes) and any("D-1: clear" in n for n in notes),
            "every step is on the case's history", notes)
    evs = stream.events(12, timeout=2.0)
    kinds = [e["event"] for e in evs]
    s.check("dispatch.updated" in kinds and "unit.updated" in kinds and "case.updated" in kinds,
            "steps are on the live stream", kinds)
    s.check(all(e["data"].get("id") != u1 or e["data"]["status"] in ("dispatched", "on_scene", "available")
                for e in evs if e["event"] == "unit.updated"), "unit events carry the new status")

    # duty and busy
    st, body = status(u2, "off_duty")
    s.check(st == 200 and body["unit"]["status"] == "off_duty", "a unit goes off duty")
    st, body = srv.post("/api/v1/cases/%d/dispatch" % c["id"], {"unit_ids": [u2]}, token=officer)
    s.check(st == 409 and body["error"]["unit_id"] == u2, "an off-duty unit cannot be dispatched", body)
    st, body = status(u2, "arrive")
    s.check(st == 409 and body["error"]["status"] == "off_duty", "an off-duty unit cannot arrive")
    st, body = status(u2, "on_duty")
    s.check(st == 200 and body["unit"]["status"] == "available", "and comes back on duty")
    st, body = srv.post("/api/v1/units/%d/status" % u2, {"action": "teleport"}, token=officer)
    s.check(st == 400 and is_error(body, "invalid", "action"), "an unknown action is refused naming it")

    # ---- by the policy ----
    c2 = report("有人持刀打架", dx=0.00005)
    st, d = srv.post("/api/v1/cases/%d/dispatch" % c2["id"], {"auto": True}, token=officer)
    chosen = [x["unit_id"] for x in d.get("dispatches", [])]
    s.check(st == 201 and sorted(chosen) == sorted([u1, u2]) and d["unit_shortfall"] is None and
            all(x["reason"].startswith("auto: nearest patrol_car") for x in d["dispatches"]),
            "violence, priority 1: the two nearest patrol cars go", d)
    c3 = report("发生交通事故，两车相撞", dx=0.0001)
    u3 = unit("D-3", dx=-0.0003)
    st, d = srv.post("/api/v1/cases/%d/dispatch" % c3["id"], {"auto": True}, token=officer)
    s.check(st == 201 and [x["unit_id"] for x in d["dispatches"]] == [u3] and d["unit_shortfall"] and
            d["unit_shortfall"][0]["type"] == "traffic_unit" and d["unit_shortfall"][0]["found"] == 0,
            "a traffic accident wants a traffic unit too: the shortfall is reported", d)
    c4 = report("邻居吵架纠纷", dx=0.0002)
    st, d = srv.post("/api/v1/cases/%d/dispatch" % c4["id"], {"auto": True}, token=officer)
    s.check(st == 409 and d["error"]["code"] == "unit_shortfall" and d["error"]["shortfall"],
            "nobody the policy asks for: 409 with the shortfall", d)

    # ---- an unanswered dispatch escalates ----
    c5 = report("小区里有可疑人员徘徊", dx=0.0003)
    u4 = unit("D-4", dx=0.0001)
    st, d = srv.post("/api/v1/cases/%d/dispatch" % c5["id"], {"unit_ids": [u4]}, token=officer)
    did = d["dispatches"][0]["id"]
    st, d5 = srv.get("/api/v1/cases/%d" % c5["id"], token=officer)
    s.check(d5["escalation"] == "station", "a dispatched case is commanded by its station")
    time.sleep(0.3)
    st, ds = srv.get("/api/v1/cases/%d/dispatches" % c5["id"], token=officer)
    s.check(not ds["dispatches"][0]["escalated"], "no escalation before the acknowledgement timeout")
    srv.post("/api/v1/admin/clock", {"advance_s": 61}, token=admin)
    esc = wait_for(lambda: (lambda r: r if r["dispatches"][0]["escalated"] else None)(
        srv.get("/api/v1/cases/%d/dispatches" % c5["id"], token=officer)[1]))
    s.check(esc is not None, "a dispatch unanswered past the timeout escalates by itself")
    st, d5 = srv.get("/api/v1/cases/%d" % c5["id"], token=gusu)
    s.check(d5["escalation"] == "district" and any("did not acknowledge" in (h["note"] or "") for h in d5["history"]),
            "the case goes up to the district, on its history", d5["escalation"])
    evs = stream.events(40, timeout=2.0)
    s.check(any(e["event"] == "case.escalated" and e["data"]["id"] == c5["id"] for e in evs) and
            any(e["event"] == "dispatch.updated" and e["data"]["id"] == did and e["data"]["escalated"] for e in evs),
            "the escalation is on the stream", [e["event"] for e in evs])
    st, body = status(u4, "acknowledge")
    s.check(st == 200, "the crew may still acknowledge late")

    # ---- three-level command: take over, reassign ----
    c6 = report("有人聚众赌博", dx=-0.0002)
    st, body = srv.post("/api/v1/cases/%d/takeover" % c6["id"], {"version": c6["version"]}, token=officer)
    s.check(st == 403, "a station officer takes nothing over", body)
    st, body = srv.post("/api/v1/cases/%d/takeover" % c6["id"], {"version": c6["version"] + 5}, token=gusu)
    s.check(st == 409 and body["error"]["current_version"] == c6["version"], "a stale version is a conflict", body)
    st, body = srv.post("/api/v1/cases/%d/takeover" % c6["id"], {"version": c6["version"], "note": "重点警情"}, token=gusu)
    s.check(st == 200 and body["command_level"] == "district" and body["taken_over_by"] == "gusu",
            "the district commander takes the case over", body)
    st, body = srv.post("/api/v1/cases/%d/takeover" % c6["id"], {"version": body.get("version", 0)}, token=gusu)
    s.check(st == 409 and body["error"]["code"] == "invalid_transition", "taking over twice at one level is a conflict", body)
    st, cc = srv.get("/api/v1/cases/%d" % c6["id"], token=officer)
    s.check(cc["escalation"] == "district" and "taken over by gusu" in (cc["history"][-1]["note"] or ""),
            "the take-over is on the case's history and the station still sees the case", cc["history"][-1])
    status(u1, "clear")
    st, d = srv.post("/api/v1/cases/%d/dispatch" % c6["id"], {"unit_ids": [u1]}, token=officer)
    old = d["dispatches"][0]["id"]
    status(u3, "clear")
    st, body = srv.post("/api/v1/dispatches/%d/reassign" % old, {"unit_id": u3}, token=officer)
    s.check(st == 403, "a station officer does not reassign")
    st, body = srv.post("/api/v1/dispatches/%d/reassign" % old, {"unit_id": u3, "note": "更近"}, token=gusu)
    s.check(st == 201 and body["cancelled"]["status"] == "cancelled" and body["dispatch"]["unit_id"] == u3,
            "a higher commander reassigns the dispatch", body)
    st, a = srv.get("/api/v1/units/%d" % u1, token=officer)
    st, b = srv.get("/api/v1/units/%d" % u3, token=officer)
    s.check(a["status"] == "available" and b["status"] == "dispatched", "the old unit is freed, the new one dispatched",
            (a["status"], b["status"]))
    st, body = srv.post("/api/v1/dispatches/%d/reassign" % old, {"unit_id": u1}, token=gusu)
    s.check(st == 409, "a cancelled dispatch cannot be reassigned", body)

    # ---- response times ----
    st, r = srv.get("/api/v1/stats/response?by=station", token=gusu)
    row = [x for x in r.get("rows", []) if x["area"] and x["area"]["id"] == station["id"]]
    s.check(st == 200 and row and row[0]["cases"] >= 4 and row[0]["arrived"] >= 1 and 0 <= row[0]["share_within_target"] <= 1,
            "response times per station", r)
    st, r = srv.get("/api/v1/stats/response?by=district", token=admin)
    s.check(st == 200 and any(x["area"]["code"] == "320508" for x in r["rows"]) and r["total"]["cases"] >= 4,
            "response times per district", r.get("total"))
    st, r = srv.get("/api/v1/stats/response", token=officer)
    s.check(st == 200 and all(x["area"]["id"] == station["id"] for x in r["rows"]), "an officer sees the station's row only", r["rows"])
    st, body = srv.get("/api/v1/stats/response?by=week", token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "by"), "a bad grouping is refused naming it")
    st, body = srv.get("/api/v1/stats/response?district=320505", token=gusu)
    s.check(st == 404, "a district outside scope is not found")
    stream.close()

s.done()
