"""Reports and cases over real HTTP: classification and routing, validation
that changes nothing, joining duplicates, transitions with versions,
diversion and taking back, masking and its audit, scope, and the live
stream with reconnection."""
import sqlite3
import time

from harness import Server, Stream, Suite, is_error

s = Suite("integration/cases")

GUSU = (120.6285, 31.3237)        # 姑苏区 (the demo officer's district)
KUNSHAN = (120.98, 31.385)        # 昆山市

# (text, police?, category or None) — how an operator would type them.
REPORTS = [
    ("小区门口有人打架，有人流血了", True, "violence"),
    ("我的电动车在楼下被偷了", True, "theft"),
    ("有人冒充淘宝客服让我转账，被骗了3000元", True, "fraud"),
    ("闻到很浓的煤气味，好像燃气泄漏了", True, None),
    ("楼上装修太吵了，晚上十点还在打电钻", False, "noise"),
    ("工地老板拖欠我们三个月工资", False, "labour"),
    ("路灯坏了好几天了，晚上很黑", False, "municipal_facilities"),
    ("家里停水了，什么时候来水", False, "water"),
]


def report(srv, tok, text, lon, lat, **kw):
    body = {"source": kw.pop("source", "110"), "text": text, "lon": lon, "lat": lat}
    body.update(kw)
    return srv.post("/api/v1/reports", body, token=tok)


def count_cases(srv, tok):
    n, cursor = 0, None
    while True:
        st, body = srv.get("/api/v1/cases?limit=500" + ("&cursor=" + cursor if cursor else ""), token=tok)
        n += len(body["cases"])
        cursor = body["next_cursor"]
        if not cursor:
            return n


def main():
    with Server.demo() as srv:
        admin = srv.login("admin", "safegrid-admin")
        officer = srv.login("officer", "safegrid-demo")
        analyst = srv.login("analyst", "safegrid-demo")

        # --- classification and routing
        ok_police = ok_cat = 0
        for i, (text, police, cat) in enumerate(REPORTS):
            # Spread the reports so none joins another.
            st, body = report(srv, admin, text, GUSU[0] + 0.01 * i, GUSU[1] + 0.003 * i)
            if not s.check(st == 201, "a report opens a case: " + text, body):
                continue
            c = body["case"]
            ok_police += c["police"] == police
            ok_cat += cat is None or c["category"] == cat
            if police:
                s.check(c["type"] == "incident" and c["department"] == "station" and c["org"]["kind"] == "station"
                        and c["status"] == "new", "a police matter goes to the station of the place", c)
            else:
                s.check(c["type"] == "referral" and c["department"] != "station" and c["status"] == "sent"
                        and c["org"]["kind"] == "department", "a non-police matter is diverted to a department", c)
            s.check([a["kind"] for a in c["areas"]][0] == "gov_grid" and c["areas"][-1]["code"] == "320500",
                    "the case carries its areas, finest first")
        s.check(ok_police == len(REPORTS), "police/non-police right on every report", ok_police)
        s.check(ok_cat == len(REPORTS), "categories right on every report", ok_cat)

        # --- bad input: 400 naming the field, nothing created
        before = count_cases(srv, admin)
        for body, field in [({"source": "999", "text": "x", "lon": 120.6, "lat": 31.3}, "source"),
                            ({"source": "110", "text": "", "lon": 120.6, "lat": 31.3}, "text"),
                            ({"source": "110", "text": "打架", "lon": "120.6", "lat": 31.3}, "lon"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 95}, "lat"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "crs": "utm"}, "crs"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "reported_at": "yesterday"}, "reported_at"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "caller": {"phone": "call me"}}, "caller.phone"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "caller": {"age": 3}}, "age"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "category": "aliens"}, "category"),
                            ({"source": "110", "text": "打架", "lon": 116.4, "lat": 39.9}, "lon"),
                            ({"source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "extra": 1}, "extra")]:
            st, resp = srv.post("/api/v1/reports", body, token=admin)
            s.check(st == 400 and is_error(resp, field=field), "a bad report is 400 naming %s" % field, resp)
        st, resp = srv.post("/api/v1/reports", raw=b"{", token=admin)
        s.check(st == 400 and is_error(resp, "invalid_json", "body"), "broken JSON is 400")
        st, resp = report(srv, analyst, "打架", *GUSU)
        s.check(st == 403, "an analyst may not file reports", resp)
        st, resp = report(srv, officer, "有人打架", *KUNSHAN)
        s.check(st == 400 and is_error(resp, "outside_scope", "lon"), "an officer cannot file outside the station", resp)
        s.check(count_cases(srv, admin) == before, "refused reports created nothing")

        # --- joining: the same incident reported twice nearby joins one case
        st, first = report(srv, admin, "商场门口有人持刀抢劫", 120.62, 31.30, caller={"name": "李四", "phone": "13912345678"})
        st2, second = report(srv, admin, "有人抢劫，拿着刀", 120.6205, 31.3003, source="12345")
        s.check(st == 201 and st2 == 200 and second["joined"] and second["case"]["id"] == first["case"]["id"]
                and second["case"]["reports"] == 2, "a second report of the same incident joins the case", (st, st2, second))
        st3, third = report(srv, admin, "有人抢劫", 120.70, 31.30)
        s.check(st3 == 201 and third["case"]["id"] != first["case"]["id"], "the same category far away opens its own case")
        cid = first["case"]["id"]

        # --- transitions
        st, c = srv.get("/api/v1/cases/%d" % cid, token=admin)
        v = c["version"]
        s.check(len(c["reports_list"]) == 2 and [h["to"] for h in c["history"]] == ["new", "new"],
                "the case lists both reports and its history", c.get("history"))
        st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": "closed", "version": v}, token=admin)
        s.check(st == 409 and is_error({"error": {k: body["error"][k] for k in ("code", "message", "field")}}, "invalid_transition", "to"),
                "new -> closed is refused", body)
        st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": "teleported", "version": v}, token=admin)
        s.check(st == 400 and is_error(body, field="to"), "an unknown state is 400", body)
        st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": "dispatched"}, token=admin)
        s.check(st == 400 and is_error(body, field="version"), "a transition needs the version", body)
        st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": "dispatched", "version": v, "note": "派巡逻车"}, token=admin)
        s.check(st == 200 and body["status"] == "dispatched" and body["version"] == v + 1, "new -> dispatched", body)
        st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": "on_scene", "version": v}, token=admin)
        s.check(st == 409 and body["error"]["code"] == "conflict" and body["error"]["current_version"] == v + 1,
                "a stale version is 409 with the current version", body)
        for to in ("on_scene", "resolved", "closed"):
            st, c = srv.get("/api/v1/cases/%d" % cid, token=admin)
            st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": to, "version": c["version"]}, token=admin)
            s.check(st == 200 and body["status"] == to, "-> " + to, body)
        st, c = srv.get("/api/v1/cases/%d" % cid, token=admin)
        s.check(c["next"] == [] and [h["to"] for h in c["history"]][-4:] == ["dispatched", "on_scene", "resolved", "closed"]
                and c["history"][2]["note"] == "派巡逻车" and c["history"][2]["actor"] == "admin",
                "the history records who, when, from, to and the note", c["history"])
        st, body = srv.post("/api/v1/cases/%d/transitions" % cid, {"to": "new", "version": c["version"]}, token=admin)
        s.check(st == 409, "nothing leaves a terminal state", body)

        # --- divert and take back (一键分流)
        st, noisy = report(srv, admin, "有人在小区里打架", 120.60, 31.31)
        nid, nv = noisy["case"]["id"], noisy["case"]["version"]
        st, body = srv.post("/api/v1/cases/%d/divert" % nid, {"department": "nowhere", "version": nv}, token=admin)
        s.check(st == 400 and is_error(body, field="department"), "an unknown department is 400", body)
        st, body = srv.post("/api/v1/cases/%d/divert" % nid, {"department": "city_management", "version": nv, "note": "实为邻里噪音"}, token=admin)
        s.check(st == 200 and body["type"] == "referral" and not body["police"] and body["status"] == "sent"
                and body["department"] == "city_management", "one call diverts a case to a department", body)
        st, body = srv.post("/api/v1/cases/%d/divert" % nid, {"department": "station", "version": body["version"]}, token=admin)
        s.check(st == 200 and body["type"] == "incident" and body["police"] and body["status"] == "new",
                "and one call takes it back", body)
        st, c = srv.get("/api/v1/cases/%d" % nid, token=admin)
        notes = [h["note"] for h in c["history"]]
        s.check(any("diverted to city_management" in (n or "") for n in notes) and any("taken back" in (n or "") for n in notes),
                "diversion and taking back are on the history", notes)

        # --- personal data: masked for roles that do not need it; unmasked reads audited
        st, c = srv.get("/api/v1/cases/%d" % cid, token=analyst)
        caller = c["reports_list"][0]["caller"]
        s.check(caller["phone"] == "139****5678" and caller["name"] == "李*" and caller["masked"],
                "an analyst sees the caller masked", caller)
        st, c = srv.get("/api/v1/cases/%d" % cid, token=admin)
        s.check(c["reports_list"][0]["caller"]["phone"] == "13912345678", "an admin sees the caller in full")
        con = sqlite3.connect(srv.db)
        audited = con.execute("SELECT count(*) FROM audit WHERE action='personal_data.read' AND subject=?",
                              ("case:%d" % cid,)).fetchone()[0]
        con.close()
        s.check(audited >= 2, "unmasked reads of personal data are audited", audited)

        # --- scope: the station officer sees only cases in the station
        st, mine = srv.get("/api/v1/me", token=officer)
        station = mine["scope"][0]["id"]
        st, lst = srv.get("/api/v1/cases?limit=500", token=officer)
        s.check(st == 200 and all(any(a["id"] == station for a in c["areas"]) for c in lst["cases"]),
                "the officer's case list holds only the station's cases", len(lst["cases"]))
        st, far = report(srv, admin, "有人打架", *KUNSHAN)
        st, body = srv.get("/api/v1/cases/%d" % far["case"]["id"], token=officer)
        s.check(st == 404, "a case elsewhere is 404 for the officer", body)
        st, body = srv.post("/api/v1/cases/%d/transitions" % far["case"]["id"], {"to": "dispatched", "version": 1}, token=officer)
        s.check(st == 404, "and cannot be changed by them", body)
        for q, field in [("status=" + "x" * 60, "status"), ("type=ufo", "type"), ("category=ufo", "category"),
                         ("limit=0", "limit"), ("cursor=abc", "cursor"), ("since=soon", "since")]:
            st, body = srv.get("/api/v1/cases?" + q, token=admin)
            s.check(st == 400 and is_error(body, field=field), "a bad case filter is 400 naming %s" % field, body)
        st, body = srv.get("/api/v1/cases?category=fraud", token=admin)
        s.check(st == 200 and body["cases"] and all(c["category"] == "fraud" for c in body["cases"]), "filter by category")
        st, body = srv.get("/api/v1/cases?area=320583", token=admin)
        s.check(st == 200 and [c["id"] for c in body["cases"]] == [far["case"]["id"]], "filter by area code")

        # --- the live stream: scope-filtered, and nothing lost on reconnect
        cmd = srv.login("gusu", "safegrid-demo")
        stream = Stream(srv.port, cmd)
        time.sleep(0.2)
        t0 = time.time()
        st, a = report(srv, admin, "有人偷手机", 120.615, 31.315)
        st, b = report(srv, admin, "有人偷手机", *KUNSHAN)
        evs = stream.events(1, timeout=2.0)
        s.check(stream.status == 200 and evs and evs[0]["event"] == "case.created" and evs[0]["data"]["id"] == a["case"]["id"]
                and time.time() - t0 < 2.0, "a new case reaches the district's stream within two seconds", evs)
        more = stream.events(1, timeout=0.5)
        s.check(not any(e["data"]["id"] == b["case"]["id"] for e in more), "a case outside the district does not", more)
        last = evs[0]["id"] if evs else 0
        stream.close()
        missed = []
        for i in range(3):
            st, r = report(srv, admin, "楼下有人打架%d" % i, 120.60 + 0.01 * i, 31.32)
            missed.append(r["case"]["id"])
        st, c = srv.get("/api/v1/cases/%d" % missed[0], token=admin)
        srv.post("/api/v1/cases/%d/transitions" % missed[0], {"to": "dispatched", "version": c["version"]}, token=admin)
        again = Stream(srv.port, cmd, last_id=last)
        evs = again.events(4, timeout=3.0)
        again.close()
        ids = [e["id"] for e in evs]
        s.check([e["data"]["id"] for e in evs] == missed + [missed[0]] and [e["event"] for e in evs][-1] == "case.updated"
                and ids == sorted(set(ids)), "reconnecting with Last-Event-ID delivers every missed event once, in order",
                [(e["event"], e["data"]["id"]) for e in evs])
        st, body, _ = srv.request("GET", "/api/v1/stream", token=cmd, headers={"Last-Event-ID": "soon"})
        s.check(st == 400 and is_error(body, field="Last-Event-ID"), "a bad Last-Event-ID is 400", body)
        st, body = srv.get("/api/v1/stream")
        s.check(st == 401, "the stream needs a token")

        st, cats = srv.get("/api/v1/categories", token=admin)
        s.check(st == 200 and len(cats["categories"]) >= 20 and any(c["id"] == "fraud" and c["police"] for c in cats["categories"]),
                "the category taxonomy is listed")
        s.check(srv.stop() == 0, "the server stops cleanly with streams open")
    s.done()


if __name__ == "__main__":
    main()
