"""Jurisdiction: a station officer or grid worker sees only their own areas;
anything outside their scope answers 404, exactly like something missing."""
import random

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
s.done()
