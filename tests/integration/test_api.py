"""The server over real HTTP: health, metrics, login, areas, locate, fusion,
and the error shape for every kind of bad input (with nothing changed)."""
import json
import random
import urllib.parse

from harness import Server, Suite, is_error, run_cli

s = Suite("integration/api")


def point_in_ring(x, y, ring):
    inside = False
    n = len(ring)
    for i in range(n - 1):
        x1, y1 = ring[i]
        x2, y2 = ring[i + 1]
        if (y1 > y) != (y2 > y):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xi:
                inside = not inside
    return inside


def point_in_geometry(x, y, g):
    polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
    for poly in polys:
        if point_in_ring(x, y, poly[0]) and not any(point_in_ring(x, y, h) for h in poly[1:]):
            return True
    return False


with Server.demo() as srv:
    # --- health and metrics, no token needed
    st, body = srv.get("/healthz")
    s.check(st == 200 and body["status"] == "ok", "healthz answers ok", body)
    s.check(body.get("areas", 0) > 14000, "healthz counts the demo areas", body)

    st, page = srv.get("/")
    s.check(st == 200 and "safegrid" in page and "/api/v1" in page, "the front page answers", st)

    # --- every API call but login needs a token
    st, body = srv.get("/api/v1/areas")
    s.check(st == 401 and is_error(body, "unauthorized"), "no token is 401", body)
    st, body, _ = srv.request("GET", "/api/v1/areas", headers={"Authorization": "Bearer sg_nope"})
    s.check(st == 401 and is_error(body), "a malformed token is 401", body)
    st, body, _ = srv.request("GET", "/api/v1/areas",
                              headers={"Authorization": "Bearer sg_" + "A" * 43})
    s.check(st == 401 and is_error(body), "an unknown token is 401", body)

    # --- login
    st, body = srv.post("/api/v1/login", {"name": "admin", "password": "wrong-password"})
    s.check(st == 401 and is_error(body, "invalid_credentials"), "wrong password is 401", body)
    st, body = srv.post("/api/v1/login", {"name": "nobody", "password": "whatever-it-is"})
    s.check(st == 401 and is_error(body, "invalid_credentials"), "unknown user is 401 like a wrong password", body)
    st, body = srv.post("/api/v1/login", {"name": "admin"})
    s.check(st == 400 and is_error(body, field="password"), "missing password is 400 naming it", body)
    st, body = srv.post("/api/v1/login", {"name": 5, "password": "x"})
    s.check(st == 400 and is_error(body, field="name"), "non-string name is 400 naming it", body)
    st, body = srv.post("/api/v1/login", raw=b'{"name": "admin", ')
    s.check(st == 400 and is_error(body, "invalid_json", "body") and "line" in body["error"]["message"],
            "broken JSON is 400 with its position", body)
    st, body = srv.post("/api/v1/login", {"name": "admin", "password": "safegrid-admin", "x": 1})
    s.check(st == 400 and is_error(body, field="x"), "unknown member is 400 naming it", body)
    st, body = srv.post("/api/v1/login", {"name": "admin", "password": "safegrid-admin"})
    s.check(st == 200 and body["token"].startswith("sg_") and body["expires_at"].endswith("Z"),
            "admin logs in", body)
    admin = body["token"]
    st, me = srv.get("/api/v1/me", token=admin)
    s.check(st == 200 and me["role"] == "admin" and me["scope"][0]["code"] == "320500", "me shows role and scope", me)

    # --- areas: list, pagination, filters
    st, body = srv.get("/api/v1/areas?kind=district&limit=1000", token=admin)
    districts = body["areas"] if st == 200 else []
    codes = {a["code"]: a for a in districts}
    s.check(len(districts) == 10, "ten districts (nine plus the industrial park)", len(districts))
    s.check(codes.get("320508", {}).get("name") == "姑苏区" and codes.get("320576", {}).get("name") == "苏州工业园区",
            "districts carry real codes and names", sorted(codes))
    st, body = srv.get("/api/v1/areas?kind=police_grid&limit=1000", token=admin)
    page1 = body["areas"]
    s.check(st == 200 and len(page1) == 1000 and body["next_cursor"], "a full page gives a cursor", st)
    seen = [a["id"] for a in page1]
    cursor = body["next_cursor"]
    while cursor:
        st, body = srv.get("/api/v1/areas?kind=police_grid&limit=1000&cursor=" + cursor, token=admin)
        seen += [a["id"] for a in body["areas"]]
        cursor = body["next_cursor"]
    s.check(len(seen) == len(set(seen)) and seen == sorted(seen), "pages neither repeat nor skip", len(seen))
    s.check(1800 <= len(seen) <= 2300, "1,800-2,300 police grids", len(seen))
    st, body = srv.get("/api/v1/areas?kind=gov_grid&limit=1000", token=admin)
    n_gov = len(body["areas"])
    cursor = body["next_cursor"]
    while cursor:
        st, body = srv.get("/api/v1/areas?kind=gov_grid&limit=1000&cursor=" + cursor, token=admin)
        n_gov += len(body["areas"])
        cursor = body["next_cursor"]
    s.check(11000 <= n_gov <= 13000, "11,000-13,000 governance grids", n_gov)

    gusu = codes["320508"]
    st, body = srv.get("/api/v1/areas?parent=320508&kind=street&limit=1000", token=admin)
    s.check(st == 200 and len(body["areas"]) == 8 and all(a["parent"] == gusu["id"] for a in body["areas"]),
            "parent by code lists 姑苏区's 8 streets", st)
    st, kids = srv.get("/api/v1/areas/%d/children?limit=1000" % gusu["id"], token=admin)
    s.check(st == 200 and {a["kind"] for a in kids["areas"]} == {"street", "station"},
            "children of a district are its streets and stations", st)

    for q, field in [("kind=planet", "kind"), ("limit=0", "limit"), ("limit=5000", "limit"),
                     ("limit=ten", "limit"), ("cursor=-4", "cursor"), ("format=kml", "format")]:
        st, body = srv.get("/api/v1/areas?" + q, token=admin)
        s.check(st == 400 and is_error(body, field=field), "bad %s is 400 naming it" % field, body)
    st, body = srv.get("/api/v1/areas?parent=999999999", token=admin)
    s.check(st == 404 and is_error(body, "not_found", "parent"), "unknown parent is 404", body)

    # --- one area
    st, a = srv.get("/api/v1/areas/%d" % gusu["id"], token=admin)
    s.check(st == 200 and a["geometry"]["type"] in ("Polygon", "MultiPolygon") and a["area_m2"] > 5e7,
            "an area comes with its geometry", st)
    st, body = srv.get("/api/v1/areas/abc", token=admin)
    s.check(st == 400 and is_error(body, field="id"), "non-numeric id is 400", body)
    st, body = srv.get("/api/v1/areas/99999999", token=admin)
    s.check(st == 404 and is_error(body, "not_found"), "unknown id is 404", body)

    # --- GeoJSON output: RFC 7946 structure, CCW exteriors
    st, fc = srv.get("/api/v1/areas?kind=district&format=geojson", token=admin)
    ok = st == 200 and fc["type"] == "FeatureCollection" and len(fc["features"]) == 10
    for f in fc.get("features", []):
        ok = ok and f["type"] == "Feature" and isinstance(f["id"], int)
        ok = ok and set(f["properties"]) >= {"kind", "code", "name", "parent"}
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for poly in polys:
            for k, ring in enumerate(poly):
                ok = ok and len(ring) >= 4 and ring[0] == ring[-1]
                area2 = sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] for i in range(len(ring) - 1))
                ok = ok and ((area2 > 0) if k == 0 else (area2 < 0))
    s.check(ok, "district GeoJSON is a valid FeatureCollection with RFC 7946 winding")

    # --- locate: well-known places, CRSs, outside, bad input
    places = [(120.6285, 31.3237, "320508"), (120.70, 31.31, "320576"), (120.98, 31.385, "320583"),
              (120.55, 31.875, "320582"), (120.75, 31.65, "320581"), (121.10, 31.45, "320585"),
              (120.64, 31.16, "320509")]
    for lon, lat, code in places:
        st, body = srv.get("/api/v1/locate?lon=%r&lat=%r" % (lon, lat), token=admin)
        kinds = [x["kind"] for x in body.get("areas", [])] if st == 200 else []
        dist = [x for x in body.get("areas", []) if x["kind"] == "district"] if st == 200 else []
        s.check(dist and dist[0]["code"] == code, "(%r, %r) is in %s" % (lon, lat, code), body)
        s.check(kinds == ["gov_grid", "community", "street", "police_grid", "station", "district", "city"],
                "locate gives one area of each layer, finest first", kinds)
    # The same place given in GCJ-02 and BD-09 resolves the same.
    _, out, _ = run_cli("coord", "--from", "wgs84", "--to", "gcj02", stdin="120.6285,31.3237\n")
    glon, glat = out.strip().split(",")
    _, out, _ = run_cli("coord", "--from", "wgs84", "--to", "bd09", stdin="120.6285,31.3237\n")
    blon, blat = out.strip().split(",")
    st, w = srv.get("/api/v1/locate?lon=120.6285&lat=31.3237", token=admin)
    st2, g = srv.get("/api/v1/locate?lon=%s&lat=%s&crs=gcj02" % (glon, glat), token=admin)
    st3, b = srv.get("/api/v1/locate?lon=%s&lat=%s&crs=bd09" % (blon, blat), token=admin)
    s.check(st2 == 200 and abs(g["point"]["lon"] - 120.6285) < 1e-7 and abs(g["point"]["lat"] - 31.3237) < 1e-7,
            "gcj02 input is converted back to the WGS-84 point", g)
    s.check(w["areas"] == g["areas"] == b["areas"], "wgs84, gcj02 and bd09 inputs locate alike")
    st, body = srv.get("/api/v1/locate?lon=116.397&lat=39.909", token=admin)
    s.check(st == 200 and body["areas"] == [], "a point outside the city gives an empty list", body)
    for q, field in [("lon=abc&lat=31.3", "lon"), ("lon=120.6&lat=", "lat"), ("lat=31.3", "lon"),
                     ("lon=181&lat=31.3", "lon"), ("lon=120.6&lat=-91", "lat"), ("lon=nan&lat=31", "lon"),
                     ("lon=inf&lat=31", "lon"), ("lon=0x10&lat=31", "lon"),
                     ("lon=120.6&lat=31.3&crs=utm", "crs")]:
        st, body = srv.get("/api/v1/locate?" + q, token=admin)
        s.check(st == 400 and is_error(body, field=field), "locate %s is 400 naming %s" % (q, field), body)

    # An independent point-in-polygon (ray casting above) agrees with locate.
    st, fc = srv.get("/api/v1/areas?kind=district&format=geojson", token=admin)
    rnd = random.Random(7)
    agree = 0
    N = 300
    for _ in range(N):
        lon, lat = rnd.uniform(119.9, 121.4), rnd.uniform(30.75, 32.05)
        mine = [f["properties"]["code"] for f in fc["features"] if point_in_geometry(lon, lat, f["geometry"])]
        st, body = srv.get("/api/v1/locate?lon=%.9f&lat=%.9f" % (lon, lat), token=admin)
        theirs = [x["code"] for x in body["areas"] if x["kind"] == "district"]
        agree += mine == theirs
    s.check(agree == N, "an independent point-in-polygon agrees with locate on random points", "%d/%d" % (agree, N))

    # Vertices of police grids lie on edges shared with their neighbours: each
    # resolves to exactly one police grid (never none, never two), by the
    # half-open rule, unless it lies on the city's outer boundary.
    st, sample = srv.get("/api/v1/areas?kind=police_grid&parent=%d&format=geojson" % page1[0]["parent"], token=admin)
    st, city = srv.get("/api/v1/areas?kind=city&format=geojson", token=admin)
    outer = {tuple(p) for f in city["features"] for poly in (f["geometry"]["coordinates"] if f["geometry"]["type"] == "MultiPolygon" else [f["geometry"]["coordinates"]]) for ring in poly for p in ring}
    tried = resolved = 0
    for f in sample["features"][:6]:
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for x, y in polys[0][0][:-1:3]:
            if (x, y) in outer:
                continue
            st, body = srv.get("/api/v1/locate?lon=%.7f&lat=%.7f" % (x, y), token=admin)
            tried += 1
            resolved += [a["kind"] for a in body["areas"]].count("police_grid") == 1
    s.check(tried > 20 and resolved == tried, "points on shared police-grid edges resolve to exactly one grid", "%d/%d" % (resolved, tried))

    # --- fusion
    st, summ = srv.get("/api/v1/fusion/summary", token=admin)
    s.check(st == 200 and summ["gov_grids"] == n_gov and summ["mapped"] == n_gov,
            "every governance grid is mapped to a police grid", summ if st != 200 else {k: summ[k] for k in summ if k != "poorly_aligned"})
    s.check(summ["split"] == len(summ["poorly_aligned"]) and all(p["split"] and p["second_ratio"] > 0.1 for p in summ["poorly_aligned"]),
            "poorly aligned grids are those split by more than 10%")
    pg = page1[0]["id"]
    st, fl = srv.get("/api/v1/fusion?police_grid=%d" % pg, token=admin)
    s.check(st == 200 and fl["police_grid"]["id"] == pg and all(0 < r["ratio"] <= 1.0001 for r in fl["gov_grids"]),
            "a police grid lists its governance grids with ratios", st)
    st, body = srv.get("/api/v1/fusion", token=admin)
    s.check(st == 400 and is_error(body, field="police_grid"), "fusion without police_grid is 400")
    st, body = srv.get("/api/v1/fusion?police_grid=%d" % gusu["id"], token=admin)
    s.check(st == 404 and is_error(body, field="police_grid"), "fusion of a non-police-grid is 404")

    # --- rename: admin only, validated, nothing changed on bad input
    target = page1[1]
    st, body = srv.patch("/api/v1/areas/%d" % target["id"], {"name": ""}, token=admin)
    s.check(st == 400 and is_error(body, field="name"), "an empty name is 400 naming it", body)
    st, body = srv.patch("/api/v1/areas/%d" % target["id"], {"name": "x", "code": "1"}, token=admin)
    s.check(st == 400 and is_error(body, field="code"), "an unknown member is 400 naming it", body)
    st, after = srv.get("/api/v1/areas/%d" % target["id"], token=admin)
    s.check(after["name"] == target["name"], "a refused rename changes nothing", after["name"])
    analyst = srv.login("analyst", "safegrid-demo")
    st, body = srv.patch("/api/v1/areas/%d" % target["id"], {"name": "新名字"}, token=analyst)
    s.check(st == 403 and is_error(body, "forbidden"), "only an admin renames", body)
    st, body = srv.patch("/api/v1/areas/%d" % target["id"], {"name": "新名字网格"}, token=admin)
    s.check(st == 200 and body["name"] == "新名字网格", "an admin renames an area", body)
    st, after = srv.get("/api/v1/areas/%d" % target["id"], token=admin)
    s.check(after["name"] == "新名字网格", "the new name is read back", after["name"])

    # --- limits, methods, routes
    st, body = srv.post("/api/v1/login", raw=b'{"name":"' + b"a" * (2 << 20) + b'"}')
    s.check(st == 413 and is_error(body, "too_large"), "a body over the limit is 413", st)
    st, body = srv.request("DELETE", "/api/v1/areas", token=admin)[:2]
    s.check(st == 405 and is_error(body), "a wrong method is 405", body)
    st, body = srv.get("/api/v1/nothing-here", token=admin)
    s.check(st == 404 and is_error(body), "an unknown route is 404", body)

    # --- logout revokes the token
    tok = srv.login("commander", "safegrid-demo")
    st, _ = srv.post("/api/v1/logout", token=tok)
    st2, body = srv.get("/api/v1/me", token=tok)
    s.check(st == 200 and st2 == 401, "a token no longer works after logout", (st, st2))

    # --- metrics
    st, text = srv.get("/metrics")
    s.check(st == 200 and 'safegrid_http_requests_total{method="GET",route="/api/v1/locate",status="200"}' in text,
            "metrics count requests by route and status")
    s.check("safegrid_http_request_seconds_bucket" in text and "safegrid_store_commit_batch_size_count" in text
            and "safegrid_store_bytes" in text, "metrics include latencies, batch sizes and store size")

    rc = srv.stop()
    s.check(rc == 0, "SIGTERM shuts the server down cleanly", rc)

    # The audit chain holds the logins and the rename, and verifies.
    code, out, _ = run_cli("audit", "verify", "--db", srv.db, check=False)
    s.check(code == 0 and "intact" in out, "audit chain verifies", out)
s.done()
