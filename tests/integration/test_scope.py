"""Jurisdiction: a station officer or grid worker sees only their own areas;
anything outside their scope answers 404, exactly like something missing."""
import random
import sqlite3

from harness import Server, Suite, is_error

s = Suite("integration/scope")

with Server.demo() as srv:
    admin = srv.login("admin", "safegrid-admin")
    officer = srv.login("officer", "safegrid-demo")
    worker = srv.login("gridworker", "safegrid-demo")

    st, me = srv.get("/api/v1/me", token=officer)
    s.check(st == 200 and me["role"] == "station_officer" and len(me["scope"]) == 1
            and me["scope"][0]["kind"] == "station", "the officer's scope is one station", me)
    mine = me["scope"][0]["id"]

    st, body = srv.get("/api/v1/areas?kind=station&limit=1000", token=officer)
    s.check(st == 200 and [a["id"] for a in body["areas"]] == [mine], "the officer lists only their station", body)
    st, body = srv.get("/api/v1/areas?kind=district", token=officer)
    s.check(st == 200 and body["areas"] == [], "the officer does not see districts", body)
    st, body = srv.get("/api/v1/areas?kind=police_grid&limit=1000", token=officer)
    my_grids = {a["id"] for a in body["areas"]}
    s.check(st == 200 and my_grids and all(a["parent"] == mine for a in body["areas"]),
            "the officer's police grids are all their station's", len(my_grids))

    st, all_st = srv.get("/api/v1/areas?kind=station&limit=1000", token=admin)
    other = next(a for a in all_st["areas"] if a["id"] != mine)
    st, body = srv.get("/api/v1/areas/%d" % other["id"], token=officer)
    s.check(st == 404 and is_error(body, "not_found"), "another station's area is 404 for the officer", body)
    st, body = srv.get("/api/v1/areas/%d/children" % other["id"], token=officer)
    s.check(st == 404, "another station's children are 404", body)
    st, body = srv.get("/api/v1/areas?parent=%d" % other["id"], token=officer)
    s.check(st == 404 and is_error(body, field="parent"), "listing under another station is 404", body)
    st, body = srv.patch("/api/v1/areas/%d" % other["id"], {"name": "x"}, token=officer)
    s.check(st == 404, "renaming outside the scope is 404, not 403", body)
    st, body = srv.get("/api/v1/areas/%d" % mine, token=officer)
    s.check(st == 200 and body["id"] == mine, "the officer reads their own station", st)

    st, other_grids = srv.get("/api/v1/areas?kind=police_grid&parent=%d&limit=5" % other["id"], token=admin)
    og = other_grids["areas"][0]["id"]
    st, body = srv.get("/api/v1/fusion?police_grid=%d" % og, token=officer)
    s.check(st == 404, "fusion of another station's police grid is 404", body)
    st, summ = srv.get("/api/v1/fusion/summary", token=officer)
    s.check(st == 200 and summ["police_grids"] == len(my_grids), "the fusion summary counts only the officer's grids", summ.get("police_grids"))
    st, gov = srv.get("/api/v1/areas?kind=gov_grid&limit=1000", token=officer)
    ok = st == 200 and len(gov["areas"]) > 0
    for g in gov["areas"][:30]:
        st, one = srv.get("/api/v1/areas/%d" % g["id"], token=admin)
        ok = ok and one["fusion"]["police_grid"]["id"] in my_grids
    s.check(ok, "the governance grids the officer sees are fused to their police grids")

    # locate: inside the station the officer sees its grid and station, never the district or city;
    # outside it, no police area at all.
    sa = srv.get("/api/v1/areas/%d" % mine, token=admin)[1]
    rnd = random.Random(3)
    inside = outside = None
    for _ in range(4000):
        lon = rnd.uniform(sa["bbox"][0] - 0.05, sa["bbox"][2] + 0.05)
        lat = rnd.uniform(sa["bbox"][1] - 0.05, sa["bbox"][3] + 0.05)
        st, body = srv.get("/api/v1/locate?lon=%.7f&lat=%.7f" % (lon, lat), token=admin)
        ids = {a["kind"]: a["id"] for a in body["areas"]}
        if ids.get("station") == mine and inside is None:
            inside = (lon, lat, ids)
        elif ids.get("station") not in (None, mine) and outside is None:
            outside = (lon, lat, ids)
        if inside and outside:
            break
    st, body = srv.get("/api/v1/locate?lon=%.7f&lat=%.7f" % inside[:2], token=officer)
    kinds = [a["kind"] for a in body["areas"]]
    s.check("station" in kinds and "police_grid" in kinds and "district" not in kinds and "city" not in kinds,
            "inside the station, locate shows the officer's grid and station only", kinds)
    st, body = srv.get("/api/v1/locate?lon=%.7f&lat=%.7f" % outside[:2], token=officer)
    s.check(not any(a["kind"] in ("station", "police_grid", "district", "city") for a in body["areas"]),
            "outside the station, locate shows no police area", body)

    # A grid worker sees one governance grid and nothing above it.
    st, me = srv.get("/api/v1/me", token=worker)
    gg = me["scope"][0]
    st, body = srv.get("/api/v1/areas?limit=1000", token=worker)
    s.check(st == 200 and [a["id"] for a in body["areas"]] == [gg["id"]], "the grid worker sees exactly their grid", body)
    st, body = srv.get("/api/v1/fusion/summary", token=worker)
    s.check(st == 200 and body["police_grids"] == 0 and body["gov_grids"] == 1, "the grid worker's fusion summary is their grid", body)

    # A district commander sees the district's stations, not another district's.
    gusu = srv.login("gusu", "safegrid-demo")
    st, body = srv.get("/api/v1/areas?kind=district", token=gusu)
    s.check([a["code"] for a in body["areas"]] == ["320508"], "the district commander sees only 姑苏区", body)
    st, body = srv.get("/api/v1/locate?lon=120.98&lat=31.385", token=gusu)
    s.check(st == 200 and body["areas"] == [], "a point in 昆山市 shows nothing to 姑苏区's commander", body)


# Case lists are read from the store by area (one index range per scope area),
# not filtered from every case: walking a scoped list page by page must give
# exactly the cases GET /api/v1/cases/{id} lets the caller read, each once,
# newest first, every page but the last full — across fused grids, every
# area= level, and cases whose areas do not nest as the area tree does.
TEXTS = ["小区门口有人打架", "我的电动车在楼下被偷了", "有人冒充客服让我转账被骗了",
         "楼上装修太吵了", "工地老板拖欠工资", "路灯坏了好几天了", "家里停水了",
         "有人在路边吵架", "垃圾堆了好几天没人清运", "邻居家漏水到我家"]


def walk(srv, tok, query, limit=7):
    """Every page of GET /api/v1/cases?query: (ids in order, pages full but the last, status ok)."""
    ids, full, ok, cursor = [], True, True, None
    while True:
        st, body = srv.get("/api/v1/cases?limit=%d%s%s" % (limit, query, "&cursor=" + cursor if cursor else ""),
                           token=tok)
        if st != 200:
            return ids, full, False
        page = [c["id"] for c in body["cases"]]
        ids += page
        cursor = body["next_cursor"]
        if not cursor:
            return ids, full, ok
        full = full and len(page) == limit and cursor == str(page[-1])


with Server.demo() as srv:
    admin = srv.login("admin", "safegrid-admin")
    users = {"officer": srv.login("officer", "safegrid-demo"), "gusu": srv.login("gusu", "safegrid-demo"),
             "gridworker": srv.login("gridworker", "safegrid-demo")}
    mine = srv.get("/api/v1/me", token=users["officer"])[1]["scope"][0]["id"]
    sa = srv.get("/api/v1/areas/%d" % mine, token=admin)[1]
    my_grids = {a["id"] for a in srv.get("/api/v1/areas?kind=police_grid&parent=%d&limit=1000" % mine,
                                        token=admin)[1]["areas"]}
    worker_grid = srv.get("/api/v1/me", token=users["gridworker"])[1]["scope"][0]["id"]
    wg = srv.get("/api/v1/areas/%d" % worker_grid, token=admin)[1]

    # Reports around the officer's station and across its edges, a few in the worker's grid
    # and a few far away in 昆山市.
    rnd = random.Random(11)
    points = []
    for i in range(220):
        points.append((rnd.uniform(sa["bbox"][0] - 0.02, sa["bbox"][2] + 0.02),
                       rnd.uniform(sa["bbox"][1] - 0.02, sa["bbox"][3] + 0.02)))
    for i in range(12):
        points.append((rnd.uniform(wg["bbox"][0], wg["bbox"][2]), rnd.uniform(wg["bbox"][1], wg["bbox"][3])))
    for i in range(20):
        points.append((120.98 + rnd.uniform(-0.02, 0.02), 31.385 + rnd.uniform(-0.02, 0.02)))
    filed = 0
    for i, (lon, lat) in enumerate(points):
        st, body = srv.post("/api/v1/reports", {"source": "110", "text": TEXTS[i % len(TEXTS)],
                                                 "lon": round(lon, 6), "lat": round(lat, 6)}, token=admin)
        filed += st in (200, 201)
    s.check(filed > 200, "reports are filed around the station", filed)

    def all_cases():
        cases, cursor = {}, None
        while True:
            st, body = srv.get("/api/v1/cases?limit=500" + ("&cursor=" + cursor if cursor else ""), token=admin)
            for c in body["cases"]:
                cases[c["id"]] = {a["kind"]: a["id"] for a in c["areas"]}
            cursor = body["next_cursor"]
            if not cursor:
                return cases

    cases = all_cases()
    # Two cases made to stray, as a point a rounding off a boundary would: one far away now
    # names one of the officer's police grids (but still its own station and district), one in
    # 昆山市 gets another community. Written into the store as a location would have them.
    kunshan = sorted(i for i, a in cases.items() if a.get("district") != sa["parent"] and a.get("station") != mine)
    s.check(len(kunshan) >= 2, "some cases lie outside 姑苏区", len(kunshan))
    stray_in, stray_out = kunshan[0], kunshan[1]
    other_comm = next(a["id"] for a in srv.get("/api/v1/areas?kind=community&limit=1000", token=admin)[1]["areas"]
                      if a["id"] != cases[stray_out].get("community"))
    srv.stop()
    con = sqlite3.connect(srv.db)
    con.execute("UPDATE cases SET police_grid_id=? WHERE id=?", (sorted(my_grids)[0], stray_in))
    con.execute("UPDATE cases SET community_id=? WHERE id=?", (other_comm, stray_out))
    con.commit()
    strays = {r[0] for r in con.execute("SELECT case_id FROM case_strays")}
    con.close()
    s.check(strays == {stray_in, stray_out}, "the store keeps exactly the cases whose areas do not nest", strays)
    srv.start()
    users = {"officer": srv.login("officer", "safegrid-demo"), "gusu": srv.login("gusu", "safegrid-demo"),
             "gridworker": srv.login("gridworker", "safegrid-demo")}
    admin = srv.login("admin", "safegrid-admin")
    cases = all_cases()
    newest_first = sorted(cases, reverse=True)

    # A third of the cases ended in each way a case ends (resolved, closed, cancelled), the
    # strays among them, so that open= has both kinds to tell apart in every list.
    ended = 0
    for n, i in enumerate(sorted(cases)):
        if n % 3 and i not in (stray_in, stray_out):
            continue
        c = srv.get("/api/v1/cases/%d" % i, token=admin)[1]
        path = ["resolved"] if c["type"] == "incident" else ["acknowledged", "resolved"]
        if n % 9 == 3:
            path.append("closed")
        elif n % 9 == 6 and c["type"] == "incident":
            path = ["cancelled"]
        for to in path:
            st, c = srv.post("/api/v1/cases/%d/transitions" % i, {"to": to, "version": c["version"]}, token=admin)
        ended += st == 200
    s.check(ended > 60, "a third of the cases are ended", ended)
    status = {}
    cursor = None
    while True:
        body = srv.get("/api/v1/cases?limit=500" + ("&cursor=" + cursor if cursor else ""), token=admin)[1]
        status.update({c["id"]: c["status"] for c in body["cases"]})
        cursor = body["next_cursor"]
        if not cursor:
            break
    is_open = {i: st not in ("resolved", "closed", "cancelled") for i, st in status.items()}
    s.check({"resolved", "closed", "cancelled"} <= set(status.values()) and any(is_open.values()),
            "cases are open, resolved, closed and cancelled", sorted(set(status.values())))

    # What each user may read, asked case by case (the reference the lists must match).
    visible = {}
    for who, tok in users.items():
        visible[who] = [i for i in newest_first if srv.get("/api/v1/cases/%d" % i, token=tok)[0] == 200]
    s.check(stray_in in visible["officer"] and stray_in in visible["gusu"],
            "the stray case naming the officer's police grid is theirs to read", stray_in)
    s.check(stray_out not in visible["officer"], "the stray case in 昆山市 is not the officer's")
    fused_only = [i for i in visible["officer"] if cases[i].get("station") != mine and i != stray_in]
    s.check(len(fused_only) > 0, "some of the officer's cases are theirs only through a fused grid", len(fused_only))
    s.check(len(visible["gridworker"]) > 0, "the grid worker has cases", len(visible["gridworker"]))

    for who, tok in users.items():
        ids, full, ok = walk(srv, tok, "")
        s.check(ok and ids == visible[who], "%s: paging the case list gives every visible case once, newest first"
                % who, (len(ids), len(visible[who]), sorted(set(ids) ^ set(visible[who]))[:10]))
        s.check(full, "%s: every page but the last is full" % who)
        ids, full, ok = walk(srv, tok, "", limit=500)
        s.check(ok and ids == visible[who], "%s: one page of 500 holds the same cases" % who, len(ids))

    # area= at each level: exactly the cases with that area, whoever asks within scope.
    def in_area(aid):
        return [i for i in newest_first if aid in cases[i].values()]

    probe = next(i for i in visible["officer"] if cases[i].get("station") == mine and "gov_grid" in cases[i]
                 and "community" in cases[i])
    fused = cases[fused_only[0]]["gov_grid"] if fused_only and "gov_grid" in cases[fused_only[0]] else None
    levels = [("officer", "station"), ("officer", "police_grid"), ("officer", "gov_grid"),
              ("gusu", "district"), ("gusu", "station"), ("gusu", "police_grid"), ("gusu", "street"),
              ("gusu", "community"), ("gusu", "gov_grid")]
    for who, kind in levels:
        aid = cases[probe][kind]
        ids, full, ok = walk(srv, users[who], "&area=%d" % aid, limit=3)
        s.check(ok and ids == in_area(aid) and full, "%s: area=%s pages through exactly its cases" % (who, kind),
                (len(ids), len(in_area(aid))))
    if fused:
        ids, full, ok = walk(srv, users["officer"], "&area=%d" % fused, limit=2)
        s.check(ok and ids == in_area(fused) and full, "officer: area= a fused grid across the edge lists its cases",
                (len(ids), len(in_area(fused))))
    st, body = srv.get("/api/v1/cases?area=%d" % other_comm, token=users["officer"])
    s.check(st == 404 and is_error(body, field="area"), "area= outside the scope is 404", body)
    ids, full, ok = walk(srv, users["officer"], "&category=theft", limit=2)
    s.check(ok and full and ids == [i for i in visible["officer"]
                                    if srv.get("/api/v1/cases/%d" % i, token=admin)[1]["category"] == "theft"],
            "a filter within the scope still pages through all of its cases", len(ids))

    # Open311 lists the same cases, newest first.
    for who, tok in users.items():
        st, body = srv.get("/open311/v2/requests.json", token=tok)
        got = [int(r["service_request_id"]) for r in body] if st == 200 else None
        s.check(got == visible[who], "%s: Open311 lists exactly the visible requests" % who,
                (st, len(got or []), len(visible[who])))

    # open=true: exactly the visible cases still to be handled, through the open cases' own
    # indexes (the strays included); open=false: the others.
    every = sorted(status, reverse=True)
    for who, tok in list(users.items()) + [("admin", admin)]:
        mine_all = every if who == "admin" else visible[who]
        for flag, want_open in (("true", True), ("false", False)):
            ids, full, ok = walk(srv, tok, "&open=" + flag, limit=4)
            want = [i for i in mine_all if is_open[i] == want_open]
            s.check(ok and full and ids == want and len(want) > 0, "%s: open=%s pages through exactly those cases"
                    % (who, flag), (len(ids), len(want), sorted(set(ids) ^ set(want))[:10]))
    for who, kind in levels:
        aid = cases[probe][kind]
        ids, full, ok = walk(srv, users[who], "&open=true&area=%d" % aid, limit=2)
        want = [i for i in in_area(aid) if is_open[i]]
        s.check(ok and ids == want and full, "%s: open=true&area=%s lists exactly its open cases" % (who, kind),
                (len(ids), len(want)))
    ids, full, ok = walk(srv, users["gusu"], "&open=true&category=theft", limit=2)
    s.check(ok and ids == [i for i in visible["gusu"] if is_open[i] and
                           srv.get("/api/v1/cases/%d" % i, token=admin)[1]["category"] == "theft"],
            "open=true combines with other filters", len(ids))
    for bad in ("yes", "", "TRUE", "1"):
        st, body = srv.get("/api/v1/cases?open=" + bad, token=admin)
        s.check(st == 400 and is_error(body, field="open"), "open=%r is a 400 naming open" % bad, body)
s.done()
