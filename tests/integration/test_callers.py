"""Repeat callers (重复来电) over real HTTP: a number's reports in the last
days, newest first and however the number was typed; only for roles that read
callers in full, within the caller's jurisdiction; every lookup audited,
found or not; bad input a 400 naming the field that changes nothing."""
import random
import sqlite3

from harness import Server, Suite, is_error

s = Suite("integration/callers")

GUSU = (120.6285, 31.3237)        # 姑苏区
KUNSHAN = (120.98, 31.385)        # 昆山市
LOOKUP = "/api/v1/reports/by-caller"


def report(srv, tok, text, at, phone):
    body = {"source": "110", "text": text, "lon": at[0], "lat": at[1], "caller": {"name": "王五", "phone": phone}}
    st, b = srv.post("/api/v1/reports", body, token=tok)
    assert st == 201, (st, b)
    return b


def place_in(srv, tok, area):
    """A point inside the area, by locating points of its bounding box."""
    w, so, e, n = srv.get("/api/v1/areas/%d" % area, token=tok)[1]["bbox"]
    rnd = random.Random(5)
    for _ in range(2000):
        lon, lat = rnd.uniform(w, e), rnd.uniform(so, n)
        st, body = srv.get("/api/v1/locate?lon=%.7f&lat=%.7f" % (lon, lat), token=tok)
        if any(a["id"] == area for a in body["areas"]):
            return lon, lat
    raise RuntimeError("no point found in area %d" % area)


def audits(srv, subject):
    con = sqlite3.connect(srv.db)
    try:
        return con.execute("SELECT actor FROM audit WHERE action='personal_data.search' AND subject=? ORDER BY seq",
                           (subject,)).fetchall()
    finally:
        con.close()


with Server.demo(extra=["--test-clock"]) as srv:
    admin = srv.login("admin", "safegrid-admin")
    commander = srv.login("commander", "safegrid-demo")
    officer = srv.login("officer", "safegrid-demo")
    gridworker = srv.login("gridworker", "safegrid-demo")
    analyst = srv.login("analyst", "safegrid-demo")
    st, me = srv.get("/api/v1/me", token=officer)
    station = me["scope"][0]["id"]
    HERE = place_in(srv, admin, station)

    # The same mobile number typed three ways, in two districts; another number; a landline.
    filed = [
        report(srv, admin, "小区门口有人打架，有人流血了", HERE, "13812345678"),
        report(srv, admin, "楼上装修太吵了，晚上十点还在打电钻", (GUSU[0] + 0.01, GUSU[1]), "+86 138-1234-5678"),
        report(srv, admin, "我的电动车在楼下被偷了", KUNSHAN, "008613812345678"),
        report(srv, admin, "路灯坏了好几天了，晚上很黑", GUSU, "13900001111"),
        report(srv, admin, "家里停水了，什么时候来水", GUSU, "0512-6500 1234"),
    ]
    mine = [f["report"]["id"] for f in filed[:3]]

    # --- found however typed, newest first, with the case and the caller in full
    st, body = srv.post(LOOKUP, {"phone": "138 1234 5678"}, token=admin)
    got = [r["id"] for r in body.get("reports", [])]
    s.check(st == 200 and body["phone"] == "13812345678" and body["days"] == 30 and got == mine[::-1]
            and body["more"] is False, "an admin finds the number's three reports, newest first", body)
    s.check(all(r["case"]["id"] == r["case_id"] and r["caller"]["masked"] is False for r in body["reports"])
            and {r["caller"]["phone"] for r in body["reports"]} == {"13812345678", "+86 138-1234-5678", "008613812345678"},
            "each with its case, and the caller as typed, in full", body["reports"])
    by_case = {f["case"]["id"]: f["case"]["status"] for f in filed[:3]}
    s.check(all(r["case"]["status"] == by_case[r["case_id"]] for r in body["reports"]),
            "the case is as it is now", body["reports"])
    st, body = srv.post(LOOKUP, {"phone": "0512-65001234"}, token=commander)
    s.check(st == 200 and [r["id"] for r in body["reports"]] == [filed[4]["report"]["id"]],
            "a landline is found by its digits", body)
    st, body = srv.post(LOOKUP, {"phone": "13812345678", "limit": 2}, token=admin)
    s.check(st == 200 and [r["id"] for r in body["reports"]] == mine[::-1][:2] and body["more"] is True,
            "a limit cuts the list and says there is more", body)
    st, body = srv.post(LOOKUP, {"phone": "13700000000"}, token=admin)
    s.check(st == 200 and body["reports"] == [] and body["more"] is False, "a number never heard is an empty list", body)

    # --- the window: the clock moves two days on
    srv.post("/api/v1/admin/clock", {"advance_s": 2 * 86400}, token=admin)
    st, body = srv.post(LOOKUP, {"phone": "13812345678", "days": 1}, token=admin)
    s.check(st == 200 and body["reports"] == [], "reports older than the window are left out", body)
    st, body = srv.post(LOOKUP, {"phone": "13812345678", "days": 3}, token=admin)
    s.check(st == 200 and [r["id"] for r in body["reports"]] == mine[::-1], "a wider window finds them again", body)

    # --- jurisdiction: the officer sees only the reports whose case is in the station
    st, body = srv.post(LOOKUP, {"phone": "13812345678", "days": 3}, token=officer)
    want = [f["report"]["id"] for f in filed[:3][::-1]
            if any(a["id"] == station for a in srv.get("/api/v1/cases/%d" % f["case"]["id"], token=admin)[1]["areas"])]
    got = [r["id"] for r in body.get("reports", [])]
    s.check(st == 200 and got == want and filed[2]["report"]["id"] not in got and len(got) >= 1,
            "the officer finds only the station's reports", (got, want))
    s.check(all(any(a["id"] == station for a in r["case"]["areas"]) for r in body["reports"]),
            "every case the officer gets is in the station", body)

    # --- roles that may not read callers in full may not look them up, and /me says which
    roles = {who: srv.get("/api/v1/me", token=tok)[1].get("personal_data")
             for who, tok in (("admin", admin), ("commander", commander), ("officer", officer),
                              ("gridworker", gridworker), ("analyst", analyst))}
    s.check(roles == {"admin": True, "commander": True, "officer": True, "gridworker": False, "analyst": False},
            "/me tells the console whether the role reads callers in full", roles)
    for tok, who in ((gridworker, "a grid worker"), (analyst, "an analyst")):
        st, body = srv.post(LOOKUP, {"phone": "13812345678"}, token=tok)
        s.check(st == 403 and is_error(body, "forbidden"), who + " may not look up a caller", body)
    st, body = srv.post(LOOKUP, {"phone": "13812345678"})
    s.check(st == 401, "nor may anyone not signed in", body)

    # --- every lookup is audited, found or not, by who asked
    s.check([a for (a,) in audits(srv, "caller:13812345678")] == ["admin", "admin", "admin", "admin", "officer"],
            "each lookup of the number is audited with who asked", audits(srv, "caller:13812345678"))
    s.check([a for (a,) in audits(srv, "caller:13700000000")] == ["admin"], "a lookup that found nothing is audited too")

    # --- bad input: 400 naming the field, nothing audited
    before = len(audits(srv, "caller:13812345678"))
    for bad, field in [({}, "phone"), ({"phone": 13812345678}, "phone"), ({"phone": "abc"}, "phone"),
                       ({"phone": "1"}, "phone"), ({"phone": "1" * 30}, "phone"),
                       ({"phone": "13812345678", "days": 0}, "days"), ({"phone": "13812345678", "days": "7"}, "days"),
                       ({"phone": "13812345678", "days": 367}, "days"), ({"phone": "13812345678", "limit": 101}, "limit"),
                       ({"phone": "13812345678", "limit": 1.5}, "limit"), ({"phone": "13812345678", "name": "x"}, "name")]:
        st, body = srv.post(LOOKUP, bad, token=admin)
        s.check(st == 400 and is_error(body, field=field),
                "%s is refused naming %s" % (bad, field), body)
    st, body = srv.post(LOOKUP, raw=b"{phone:", token=admin)
    s.check(st == 400 and is_error(body, field="body"), "a body that is not JSON is refused naming body", body)
    s.check(len(audits(srv, "caller:13812345678")) == before, "a refused lookup is not audited")

s.done()
