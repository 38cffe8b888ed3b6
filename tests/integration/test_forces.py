"""Forces over real HTTP: organisations (create, patch with versions, scope),
people (filters, cursor pagination, scope, masking and the audit of
unmasked reads), units, live positions (PUT and NDJSON with bad lines) and
the nearest available units with every filter, ties, scope and the reasons
for a shortfall."""
import datetime
import json
import sqlite3
import time

from harness import Server, Suite, is_error

s = Suite("integration/forces")

# A point in the sea east of the city: only the units this test places there are near it.
SEA = (122.40, 30.60)


def id_number(prefix, n):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    d = "%s1988%02d%02d%03d" % (prefix, 1 + n % 12, 1 + n % 28, n % 1000)
    return d + "10X98765432"[sum(int(a) * b for a, b in zip(d, w)) % 11]


def offset(lon, lat, east_m=0.0, north_m=0.0):
    import math
    return (lon + east_m / (111320.0 * math.cos(math.radians(lat))), lat + north_m / 110574.0)


with Server.demo(extra=["--test-clock"]) as srv:
    admin = srv.login("admin", "safegrid-admin")
    gusu = srv.login("gusu", "safegrid-demo")
    officer = srv.login("officer", "safegrid-demo")
    analyst = srv.login("analyst", "safegrid-demo")
    st, me = srv.get("/api/v1/me", token=officer)
    station = me["scope"][0]

    # ---- organisations ----
    st, orgs = srv.get("/api/v1/orgs", token=admin)
    kinds = {o["kind"] for o in orgs["orgs"]}
    s.check(st == 200 and orgs["count"] > 300 and {"city_bureau", "district_branch", "station", "patrol_swat",
                                                    "traffic", "criminal_investigation", "court",
                                                    "mediation_committee", "security_firm",
                                                    "property_company", "gov_department"} <= kinds,
            "the demo has the police hierarchy and the linked organisations", kinds)
    st, mine = srv.get("/api/v1/orgs", token=officer)
    s.check(st == 200 and mine["count"] == 1 and mine["orgs"][0]["code"] == station["code"],
            "a station officer sees only the organisations of the station", mine["count"])
    st, bureau = srv.get("/api/v1/orgs?kind=city_bureau", token=admin)
    bureau = bureau["orgs"][0]
    st, stations = srv.get("/api/v1/orgs?kind=station&parent=%d" % 0, token=admin)
    s.check(st == 400 and is_error(stations, "invalid", "parent"), "a bad parent filter is refused naming it", stations)
    st, body = srv.get("/api/v1/orgs?kind=bogus", token=admin)
    s.check(st == 400 and is_error(body, "invalid", "kind"), "an unknown kind is refused naming it")
    st, gorgs = srv.get("/api/v1/orgs?area=320508&kind=station", token=gusu)
    s.check(st == 200 and gorgs["count"] >= 5 and all(o["code"].startswith("320508") for o in gorgs["orgs"]),
            "orgs filtered by area: the district's stations", gorgs["count"])

    st, org = srv.post("/api/v1/orgs", {"kind": "mediation_committee", "name": "测试调解委员会", "code": "T-MED-1",
                                        "areas": ["320508"], "phone": "0512-65000000"}, token=gusu)
    s.check(st == 201 and org["version"] == 1 and org["areas"][0]["code"] == "320508", "a commander adds an organisation", org)
    st, body = srv.post("/api/v1/orgs", {"kind": "court", "name": "x", "code": "T-MED-1", "areas": ["320508"]}, token=gusu)
    s.check(st == 409 and is_error(body, "conflict", "code"), "a code is unique", body)
    st, body = srv.post("/api/v1/orgs", {"kind": "court", "name": "x", "areas": ["320505"]}, token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "areas"), "an organisation outside your jurisdiction is refused", body)
    st, body = srv.post("/api/v1/orgs", {"kind": "police_dogs", "name": "x", "areas": ["320508"]}, token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "kind"), "an unknown organisation kind is refused")
    st, body = srv.post("/api/v1/orgs", {"kind": "court", "name": "x", "areas": ["320508"]}, token=officer)
    s.check(st == 403, "a station officer adds no organisation", body)
    st, body = srv.post("/api/v1/orgs", {"kind": "court", "name": "x", "areas": ["320508"], "extra": 1}, token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "extra"), "unknown members are refused")
    st, after = srv.patch("/api/v1/orgs/%d" % org["id"], {"version": 1, "name": "姑苏测试调解委员会", "phone": None}, token=gusu)
    s.check(st == 200 and after["version"] == 2 and after["name"] == "姑苏测试调解委员会" and after["phone"] is None,
            "an organisation is changed with the version read", after)
    st, body = srv.patch("/api/v1/orgs/%d" % org["id"], {"version": 1, "name": "y"}, token=gusu)
    s.check(st == 409 and body["error"]["current_version"] == 2, "a stale version is a conflict with the current one", body)
    st, child = srv.post("/api/v1/orgs", {"kind": "mediation_committee", "name": "子委员会", "parent_id": org["id"],
                                          "areas": ["320508"]}, token=gusu)
    st, body = srv.patch("/api/v1/orgs/%d" % org["id"], {"version": 2, "parent_id": child["id"]}, token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "parent_id"), "an organisation cannot become its own ancestor", body)
    st, body = srv.get("/api/v1/orgs/%d" % org["id"], token=officer)
    s.check(st == 404, "an organisation outside the officer's scope is not found", body)
    st, body = srv.get("/api/v1/orgs/%d" % bureau["id"], token=gusu)
    s.check(st == 404, "the city bureau is above a district commander's scope")

    # ---- people: filters, cursor pagination, scope ----
    st, page = srv.get("/api/v1/people?type=grid_worker&area=320508&limit=100", token=admin)
    s.check(st == 200 and len(page["people"]) == 100 and all(p["type"] == "grid_worker" for p in page["people"]),
            "people filtered by type and area", len(page["people"]))
    seen, cursor, pages = [], None, 0
    while pages < 50:
        q = "/api/v1/people?area=%d&limit=200" % station["id"] + ("&cursor=" + cursor if cursor else "")
        st, page = srv.get(q, token=admin)
        seen += [p["id"] for p in page["people"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    s.check(len(seen) == len(set(seen)) and len(seen) > 20, "cursor pages never repeat a person", len(seen))
    mine, cursor = [], None
    while True:
        q = "/api/v1/people?limit=500" + ("&cursor=" + cursor if cursor else "")
        st, page = srv.get(q, token=officer)
        mine += [p["id"] for p in page["people"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    s.check(sorted(mine) == sorted(seen), "a station officer lists exactly the people of the station", (len(mine), len(seen)))
    st, body = srv.get("/api/v1/people?cursor=zz", token=admin)
    s.check(st == 400 and is_error(body, "invalid", "cursor"), "a bad cursor is refused naming it")
    st, body = srv.get("/api/v1/people?limit=501", token=admin)
    s.check(st == 400 and is_error(body, "invalid", "limit"), "a limit over 500 is refused")
    st, body = srv.get("/api/v1/people?area=320505", token=gusu)
    s.check(st == 404 and is_error(body, "not_found", "area"), "an area outside scope is not found")

    # ---- people: create, masking, audit ----
    st, orgs_g = srv.get("/api/v1/orgs?kind=station&area=%d" % station["id"], token=officer)
    station_org = orgs_g["orgs"][0]["id"]
    idn = id_number("320508", 7)
    person = {"type": "officer", "org_id": station_org, "area": station["id"], "name": "测试民警",
              "phone": "13912345678", "id_number": idn}
    st, p = srv.post("/api/v1/people", person, token=officer)
    s.check(st == 201 and p["phone"] == "13912345678" and not p["masked"], "a station officer registers a person", p)
    st, body = srv.post("/api/v1/people", person, token=officer)
    s.check(st == 409 and is_error(body, "conflict", "id_number"), "an ID number is registered once", body)
    bad = dict(person, id_number=idn[:-1] + ("0" if idn[-1] != "0" else "1"))
    st, body = srv.post("/api/v1/people", bad, token=officer)
    s.check(st == 400 and is_error(body, "invalid", "id_number"), "a wrong check character is refused", body)
    for field, value in (("phone", "call me"), ("type", "wizard"), ("area", "320505"), ("name", ""), ("org_id", bureau["id"])):
        st, body = srv.post("/api/v1/people", dict(person, **{field: value}), token=officer)
        s.check(st == 400 and is_error(body, "invalid", field), "a bad %s is refused naming it" % field, body)
    st, body = srv.post("/api/v1/people", person, token=analyst)
    s.check(st == 403, "an analyst registers no one")
    st, lst = srv.get("/api/v1/people?area=%d&type=officer&limit=500" % station["id"], token=admin)
    listed = [x for x in lst["people"] if x["id"] == p["id"]]
    s.check(listed and listed[0]["phone"] == "139****5678" and listed[0]["id_number"] == idn[:6] + "********" + idn[-4:]
            and listed[0]["masked"], "lists are masked, even for an admin", listed)
    st, got = srv.get("/api/v1/people/%d" % p["id"], token=analyst)
    s.check(st == 200 and got["masked"] and got["phone"] == "139****5678", "an analyst reads a person masked", got)
    st, got = srv.get("/api/v1/people/%d" % p["id"], token=admin)
    s.check(st == 200 and not got["masked"] and got["id_number"] == idn, "an admin reads a person in full")
    con = sqlite3.connect(srv.db)
    audited = con.execute("SELECT count(*), group_concat(actor) FROM audit WHERE action='personal_data.read' AND subject=?",
                          ("person:%d" % p["id"],)).fetchone()
    con.close()
    s.check(audited[0] == 1 and audited[1] == "admin", "only the unmasked read is audited", audited)
    st, body = srv.get("/api/v1/people/%d" % p["id"], token=srv.login("gridworker", "safegrid-demo"))
    s.check(st == 404, "a person outside a grid worker's scope is not found")

    # ---- units ----
    st, units = srv.get("/api/v1/units?type=patrol_car&status=available&area=320508&limit=50", token=gusu)
    s.check(st == 200 and units["units"] and all(u["type"] == "patrol_car" and u["status"] == "available"
                                                 for u in units["units"]), "units filtered by type and status")
    st, u = srv.get("/api/v1/units/%d" % units["units"][0]["id"], token=gusu)
    s.check(st == 200 and len(u["members"]) == 2 and {m["type"] for m in u["members"]} == {"officer", "auxiliary"},
            "a patrol car has an officer and an auxiliary", u.get("members"))
    st, body = srv.get("/api/v1/units?status=flying", token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "status"), "an unknown unit status is refused")

    def unit(callsign, utype="patrol_car", area=None, org=station_org, token=admin, pos=None, status=None):
        body = {"type": utype, "callsign": callsign, "org_id": org, "area": area or station["id"]}
        if pos:
            body["lon"], body["lat"] = pos
        if status:
            body["status"] = status
        st, u = srv.post("/api/v1/units", body, token=token)
        if st != 201:
            raise RuntimeError("unit: %s %s" % (st, u))
        return u["id"]

    def put(uid, pos, token=admin, at=None):
        body = {"lon": pos[0], "lat": pos[1]}
        if at is not None:
            body["at"] = at
        st, b, _ = srv.request("PUT", "/api/v1/units/%d/position" % uid, body=body, token=token)
        return st, b

    # ---- positions ----
    a = unit("T-A", pos=offset(*SEA, east_m=100))
    st, b = put(a, offset(*SEA, east_m=100))
    s.check(st == 200 and b["latest"], "a position is taken", b)
    st, b = put(a, (500, 31))
    s.check(st == 400 and is_error(b, "invalid", "lon"), "a bad longitude is refused naming it", b)
    st, b = put(a, SEA, at=int(time.time() * 1000) + 3600 * 1000)
    s.check(st == 400 and is_error(b, "invalid", "at"), "a position from the future is refused", b)
    st, b = put(a, SEA, at=int(time.time() * 1000) - 60000)
    s.check(st == 200 and not b["latest"], "an older position is tracked but does not replace the latest", b)
    other_district = unit("T-OUT", area="320505", org=bureau["id"], pos=offset(*SEA, east_m=50))
    st, b = put(other_district, SEA, token=officer)
    s.check(st == 404, "a unit outside scope cannot be moved", b)
    lines = [
        {"kind": "unit_position", "unit_id": a, "lon": offset(*SEA, east_m=90)[0], "lat": SEA[1]},
        {"kind": "unit_position", "unit_id": a, "lon": 121.0},
        "not json",
        {"kind": "unit_position", "unit_id": 999999999, "lon": 120.6, "lat": 31.3},
        {"kind": "unit_position", "unit_id": a, "lon": 120.6, "lat": 31.3, "speed": 3},
        {"kind": "teleport", "unit_id": a},
        {"kind": "report", "source": "110", "text": "有人打架", "lon": 120.62, "lat": 31.31},
    ]
    raw = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    st, b, _ = srv.request("POST", "/api/v1/events", raw=raw, token=admin, headers={"Content-Type": "application/x-ndjson"})
    rej = {r["line"]: r["error"] for r in b.get("rejected", [])}
    s.check(st == 200 and b["accepted"] == 2 and set(rej) == {2, 3, 4, 5, 6}, "NDJSON positions: good lines stored, bad ones listed", b)
    s.check(rej.get(2, {}).get("field") == "lat" and rej.get(4, {}).get("code") == "not_found" and
            rej.get(5, {}).get("field") == "speed" and rej.get(6, {}).get("field") == "kind",
            "each bad line names its fault", rej)
    con = sqlite3.connect(srv.db)
    tracks = con.execute("SELECT count(*) FROM unit_positions WHERE unit_id=?", (a,)).fetchone()[0]
    con.close()
    s.check(tracks == 3, "every accepted position is on the unit's track", tracks)

    # ---- nearest ----
    sea = "/api/v1/units/nearest?lon=%.7f&lat=%.7f" % SEA
    st, n = srv.get(sea + "&within_m=1000&k=5", token=admin)
    ids = [x["unit"]["id"] for x in n["units"]]
    s.check(st == 200 and ids[:2] == [other_district, a] and n["units"][0]["distance_m"] < n["units"][1]["distance_m"],
            "nearest first", ids)
    s.check(n["unit_shortfall"] and n["unit_shortfall"]["missing"] == 3, "fewer than k: the answer says how many are missing", n["unit_shortfall"])
    st, n = srv.get(sea + "&within_m=1000", token=officer)
    s.check(st == 200 and [x["unit"]["id"] for x in n["units"]] == [a], "units outside the caller's scope are never returned",
            [x["unit"]["id"] for x in n["units"]])
    # ties: two units at the same distance come in id order
    t1 = unit("T-TIE1", pos=offset(*SEA, north_m=700))
    t2 = unit("T-TIE2", pos=offset(*SEA, north_m=-700))
    st, n = srv.get(sea + "&within_m=800&k=4", token=officer)
    ids = [x["unit"]["id"] for x in n["units"]]
    s.check(ids == [a, t1, t2] or ids == [a, t2, t1], "ties are both returned", ids)
    s.check(ids[1:] == sorted(ids[1:]) or abs(n["units"][1]["distance_m"] - n["units"][2]["distance_m"]) > 0.5,
            "equal distances come in id order", [(x["unit"]["id"], x["distance_m"]) for x in n["units"]])
    # type filter, ETA: a car 400 m away beats a foot patrol 150 m away
    foot = unit("T-FOOT", utype="foot_patrol", pos=offset(*SEA, east_m=-150))
    st, n = srv.get(sea + "&within_m=450&k=3&type=patrol_car,foot_patrol", token=officer)
    got = [(x["unit"]["id"], x["eta_s"]) for x in n["units"]]
    s.check(st == 200 and got and got[0][0] == a and foot in [g[0] for g in got] and
            [g[1] for g in got] == sorted(g[1] for g in got), "ranked by ETA: car before a nearer foot patrol", got)
    st, n = srv.get(sea + "&within_m=1000&type=foot_patrol", token=officer)
    s.check([x["unit"]["id"] for x in n["units"]] == [foot] and n["units"][0]["eta_s"] == 168,
            "the type filter, and the ETA estimate (150 m x 1.4 / 1.25 m/s)", n["units"])
    # status: busy units are not available; status=any shows them
    srv.post("/api/v1/units/%d/status" % foot, {"action": "busy"}, token=officer)
    st, n = srv.get(sea + "&within_m=1000&type=foot_patrol", token=officer)
    s.check(n["units"] == [] and "none_available" in n["unit_shortfall"]["reasons"] and n["unit_shortfall"]["wrong_status"] == 1,
            "none available: the answer says why", n["unit_shortfall"])
    st, n = srv.get(sea + "&within_m=1000&type=foot_patrol&status=busy", token=officer)
    s.check([x["unit"]["id"] for x in n["units"]] == [foot], "status filter")
    st, fu = srv.get("/api/v1/units/%d" % foot, token=officer)
    got = n["units"][0]["unit"] if n["units"] else {}
    s.check(got.get("callsign") == "T-FOOT" and got.get("type") == "foot_patrol" and got.get("status") == "busy" and
            got.get("version") == fu["version"] == 2,
            "a suggestion names its unit: callsign, type, status and version as stored", (got, fu.get("version")))
    st, n = srv.get(sea + "&within_m=1000&type=foot_patrol&status=any", token=officer)
    s.check([x["unit"]["id"] for x in n["units"]] == [foot], "status=any")
    # radius, old positions, no position
    far = unit("T-FAR", utype="motorcycle", pos=offset(*SEA, east_m=1500))
    st, n = srv.get(sea + "&within_m=1000&type=motorcycle", token=officer)
    s.check(n["units"] == [] and "outside_radius" in n["unit_shortfall"]["reasons"], "outside the radius", n["unit_shortfall"])
    st, n = srv.get(sea + "&within_m=2000&type=motorcycle", token=officer)
    s.check([x["unit"]["id"] for x in n["units"]] == [far], "a wider radius finds it")
    stale = unit("T-STALE", utype="swat_team")
    put(stale, offset(*SEA, east_m=10), at=int(time.time() * 1000) - 400 * 1000)
    st, n = srv.get(sea + "&within_m=1000&type=swat_team", token=officer)
    s.check(n["units"] == [] and "positions_too_old" in n["unit_shortfall"]["reasons"], "a position older than the maximum age is never used",
            n["unit_shortfall"])
    unit("T-NOPOS", utype="investigation_team")
    st, n = srv.get(sea + "&within_m=1000&type=investigation_team", token=officer)
    s.check(n["units"] == [] and "no_position" in n["unit_shortfall"]["reasons"], "a unit that never reported is counted as such",
            n["unit_shortfall"])
    # reasons in the city: in the case's grid, from a neighbouring station
    st, areas = srv.get("/api/v1/areas?kind=station&limit=500", token=gusu)
    gusu_stations = [x for x in areas.get("areas", areas if isinstance(areas, list) else []) if x.get("code", "").startswith("320508-PS")]
    st, loc = srv.get("/api/v1/locate?lon=120.6285&lat=31.3237", token=gusu)
    here = {x["kind"]: x for x in loc["areas"]}
    nb = [x for x in gusu_stations if x["id"] != here["station"]["id"]][0]
    in_grid = unit("T-GRID", area=here["police_grid"]["id"], pos=(120.62852, 31.32372))
    neighbour = unit("T-NB", area=nb["id"], pos=(120.6288, 31.3239))
    st, n = srv.get("/api/v1/units/nearest?lon=120.6285&lat=31.3237&within_m=100&k=10&type=patrol_car", token=gusu)
    why = {x["unit"]["id"]: x["reason"] for x in n["units"]}
    s.check(why.get(in_grid) == "in_case_grid" and why.get(neighbour) == "neighbouring_station",
            "each suggestion says why it was chosen", why)
    # ---- the unit index follows the store's commit order ----
    # Steps on one unit from several clients at once: their commits share
    # batches and their answers race back to the index; afterwards the
    # index (nearest, status=any) must say what the store (GET) says.
    import threading
    RACE = offset(*SEA, north_m=5000)
    racers = [unit("T-RACE%d" % i, utype="traffic_unit", pos=offset(*RACE, east_m=30 * i)) for i in range(6)]

    def hammer(uid, action, times):
        for _ in range(times):
            srv.post("/api/v1/units/%d/status" % uid, {"action": action}, token=admin)

    differ = []
    for rnd in range(40):
        threads = [threading.Thread(target=hammer, args=(uid, action, 2))
                   for uid in racers for action in ("busy", "free", "busy", "free")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st, n = srv.get("/api/v1/units/nearest?lon=%.7f&lat=%.7f&within_m=500&k=10&type=traffic_unit&status=any"
                        % RACE, token=admin)
        seen = {x["unit"]["id"]: x["unit"]["status"] for x in n["units"]}
        for uid in racers:
            st, u = srv.get("/api/v1/units/%d" % uid, token=admin)
            if seen.get(uid) != u["status"]:
                differ.append((rnd, uid, seen.get(uid), u["status"]))
    s.check(not differ, "after concurrent status steps the unit index says what the store says", differ[:5])

    # bad queries name their parameter
    for q, field in (("lat=31", "lon"), ("lon=120.6&lat=31&k=0", "k"), ("lon=120.6&lat=31&k=101", "k"),
                     ("lon=120.6&lat=31&type=tank", "type"), ("lon=120.6&lat=31&status=asleep", "status"),
                     ("lon=120.6&lat=31&within_m=-5", "within_m"), ("lon=120.6&lat=31&crs=utm", "crs")):
        st, body = srv.get("/api/v1/units/nearest?" + q, token=admin)
        s.check(st == 400 and is_error(body, "invalid", field), "nearest refuses a bad %s" % field, body)

    # ---- units by box and by change (bbox, since) ----
    CITY = (120.30, 31.00, 121.00, 31.60)
    box = ",".join("%.2f" % v for v in CITY)

    def all_units(query, token):
        out, cursor, pages, as_of = [], None, 0, None
        while True:
            st, b = srv.get("/api/v1/units?limit=50&" + query + ("&cursor=" + cursor if cursor else ""), token=token)
            if st != 200:
                raise RuntimeError("units: %s %s" % (st, b))
            out += b["units"]
            as_of = as_of or b["as_of"]
            pages += 1
            cursor = b["next_cursor"]
            if not cursor:
                return out, pages, as_of

    def inside(u, b=CITY):
        p = u["position"]
        return p is not None and b[0] <= p["lon"] <= b[2] and b[1] <= p["lat"] <= b[3]

    every, _, _ = all_units("area=320508", gusu)
    boxed, pages, as_of = all_units("area=320508&bbox=" + box, gusu)
    s.check(pages > 1 and all(inside(u) for u in boxed) and
            sorted(u["id"] for u in boxed) == sorted(u["id"] for u in every if inside(u)),
            "bbox: exactly the units whose latest position is inside, page by page", (pages, len(boxed), len(every)))
    s.check(any(u["position"] is None for u in every) and len(boxed) < len(every),
            "bbox leaves out units without a position or outside it", len(every) - len(boxed))
    mine, _, _ = all_units("bbox=-180,-90,180,90", officer)
    visible, _, _ = all_units("", officer)
    s.check(mine and sorted(u["id"] for u in mine) == sorted(u["id"] for u in visible if u["position"]),
            "bbox is scoped as ever: the whole world is the officer's station", (len(mine), len(visible)))
    for q, field in (("bbox=1,2,3", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=121,31,120,32", "bbox"),
                     ("bbox=120,31,121,91", "bbox"), ("bbox=120,31,121,32,5", "bbox"), ("bbox=120,31,121,", "bbox"),
                     ("since=yesterday", "since"), ("since=2026-13-01T00:00:00Z", "since"),
                     ("since=2026-11-01", "since")):
        st, body = srv.get("/api/v1/units?" + q, token=gusu)
        s.check(st == 400 and is_error(body, "invalid", field), "units refuse a bad %s (%s)" % (field, q), body)
    st, body = srv.get("/api/v1/people?bbox=120,31,121,32", token=gusu)
    s.check(st == 400 and is_error(body, "invalid", "bbox"), "people have no bbox", body)

    # Later: one unit moves, another changes status; since the earlier as_of
    # only they come back, in the box and out of it, for whoever sees them.
    st, _ = srv.post("/api/v1/admin/clock", {"advance_s": 600}, token=admin)
    s.check(st == 200, "the test clock moves")
    st, b = srv.get("/api/v1/units?limit=1&bbox=" + box, token=gusu)
    as_of = b["as_of"]
    movers = [u for u in boxed if u["status"] == "available"][:2]
    mover, stepper = movers[0]["id"], movers[1]["id"]
    st, _ = put(mover, (movers[0]["position"]["lon"] + 0.001, movers[0]["position"]["lat"]), token=gusu)
    st2, _ = srv.post("/api/v1/units/%d/status" % stepper, {"action": "busy"}, token=gusu)
    s.check(st == 200 and st2 == 200, "a unit moves, another gets busy")
    changed, _, _ = all_units("since=" + as_of, gusu)
    s.check(sorted(u["id"] for u in changed) == sorted([mover, stepper]),
            "since: only the units moved or changed since", [(u["id"], u["updated_at"], u["position"]) for u in changed][:5])
    changed, _, _ = all_units("since=%s&bbox=%s" % (as_of, box), gusu)
    s.check(sorted(u["id"] for u in changed) == sorted([mover, stepper]), "since with bbox",
            [u["id"] for u in changed])
    changed, _, _ = all_units("since=%s&bbox=122,30,122.1,30.1" % as_of, gusu)
    s.check(changed == [], "since with a box they are not in: none", [u["id"] for u in changed])
    changed, _, _ = all_units("since=" + as_of, analyst)
    s.check(sorted(u["id"] for u in changed) == sorted([mover, stepper]), "since for another caller who sees them",
            [u["id"] for u in changed])
    later, _, _ = all_units("since=2100-01-01T00:00:00Z", gusu)
    s.check(later == [], "since a time to come: nothing")
    # A position sent late (a radio out of coverage): its device's time is
    # before the last poll, yet it is the unit's newest. The next poll gets it,
    # since counting when it arrived.
    late = [u for u in boxed if u["status"] == "available"][2]
    st, b = srv.get("/api/v1/units?limit=1", token=gusu)
    poll = b["as_of"]
    sent = datetime.datetime.fromisoformat(poll.replace("Z", "+00:00")).timestamp() - 300
    where = (late["position"]["lon"] + 0.002, late["position"]["lat"])
    st, _ = put(late["id"], where, token=gusu, at=int(sent * 1000))
    changed, _, _ = all_units("since=" + poll, gusu)
    got = [u for u in changed if u["id"] == late["id"]]
    s.check(st == 200 and got and abs(got[0]["position"]["lon"] - where[0]) < 1e-6,
            "a position sent late comes to the next poll", (st, poll, [u["id"] for u in changed]))
    # A unit that leaves a box comes to that box's next poll (at its new
    # place), so that a map of the box drops it; a whole read of the box has it no more.
    small = "%.4f,%.4f,%.4f,%.4f" % (where[0] - 0.01, where[1] - 0.01, where[0] + 0.01, where[1] + 0.01)
    st, b = srv.get("/api/v1/units?limit=1&bbox=" + small, token=gusu)
    poll = b["as_of"]
    st, _ = put(late["id"], (where[0] + 0.05, where[1]), token=gusu)
    changed, _, _ = all_units("since=%s&bbox=%s" % (poll, small), gusu)
    inbox, _, _ = all_units("bbox=" + small, gusu)
    left = [u for u in changed if u["id"] == late["id"]]
    s.check(st == 200 and left and abs(left[0]["position"]["lon"] - (where[0] + 0.05)) < 1e-6
            and late["id"] not in [u["id"] for u in inbox],
            "a unit that left a box comes to its next poll, at its new place", (st, [u["id"] for u in changed]))

s.done()
