"""test_console_api.py — what the console needs from the server: its files
served from the binary (content types, ETag and 304, gzip, nothing else
reachable), the intake check (a report decided but not stored, with the open
cases nearby it may duplicate), areas by bounding box and simplified, and the
departments a case may be diverted to."""
import gzip
import http.client
import json
import urllib.parse

from harness import Server, Suite, is_error

s = Suite("console_api")


def raw_get(srv, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


P = {"lon": 120.6285, "lat": 31.3237}  # 姑苏区, inside the officer's station? (checked below)

with Server.demo() as srv:
    # --- the console's files
    st, h, body = raw_get(srv, "/")
    s.check(st == 200 and h["content-type"].startswith("text/html"), "/ is the console page", (st, h))
    s.check(b"/assets/app.js" in body and "zh-CN".encode() in body, "the page loads the app, in Chinese by default")
    s.check("etag" in h and h.get("cache-control") == "no-cache", "the page has an ETag and is revalidated", h)
    s.check("default-src 'self'" in h.get("content-security-policy", ""), "the page forbids foreign scripts", h)
    st2, h2, body2 = raw_get(srv, "/", {"If-None-Match": h["etag"]})
    s.check(st2 == 304 and body2 == b"", "a matching If-None-Match is 304 with no body", st2)
    st2, _, _ = raw_get(srv, "/", {"If-None-Match": '"0000000000000000"'})
    s.check(st2 == 200, "a stale ETag gets the page again", st2)
    for path, ctype in [("/assets/app.js", "text/javascript"), ("/assets/style.css", "text/css"),
                        ("/assets/leaflet.js", "text/javascript"), ("/assets/echarts.min.js", "text/javascript"),
                        ("/assets/i18n/en.js", "text/javascript"), ("/assets/images/layers.png", "image/png")]:
        st, h, body = raw_get(srv, path)
        s.check(st == 200 and h["content-type"].startswith(ctype) and len(body) > 50,
                "%s is served as %s" % (path, ctype), (st, h.get("content-type")))
    st, h, body = raw_get(srv, "/assets/echarts.min.js", {"Accept-Encoding": "gzip, deflate"})
    s.check(st == 200 and h.get("content-encoding") == "gzip", "text is gzip-encoded when accepted", h)
    plain = raw_get(srv, "/assets/echarts.min.js")[2]
    s.check(gzip.decompress(body) == plain and len(body) < len(plain) / 2, "the gzip copy is the same file, smaller")
    st, h, body = raw_get(srv, "/assets/app.js", {"Accept-Encoding": "gzip;q=0"})
    s.check(st == 200 and "content-encoding" not in h, "gzip;q=0 gets the plain file", h)
    for bad in ["/assets/../Makefile", "/assets/%2e%2e/Makefile", "/assets/nope.js", "/assets/i18n/../app.js",
                "/index.html", "/assets/", "/assets/images/../../src/main.c", "/web/src/app.js"]:
        st, h, body = raw_get(srv, bad)
        s.check(st == 404 and "json" in h.get("content-type", ""), "%s is not served" % bad, (st, body[:80]))

    admin = srv.login("admin", "safegrid-admin")
    officer = srv.login("officer", "safegrid-demo")
    analyst = srv.login("analyst", "safegrid-demo")

    # --- departments for diversion
    st, body = srv.get("/api/v1/categories", token=admin)
    depts = body.get("departments", [])
    s.check(st == 200 and len(depts) > 10 and all({"id", "name_zh", "kind"} <= set(d) for d in depts),
            "categories lists the departments with names and kinds", depts[:2])
    s.check(any(d["id"] == "city_management" and d["kind"] == "government" for d in depts),
            "the city management bureau is a government department")

    # --- intake check: decided exactly as a report would be, nothing stored
    st, cases_before = srv.get("/api/v1/cases?limit=500", token=admin)
    rep = {"source": "110", "text": "小区门口有人打架，有人流血了", **P, "caller": {"name": "张三", "phone": "13812345678"}}
    st, chk = srv.post("/api/v1/reports/check", rep, token=admin)
    s.check(st == 200 and chk["classification"]["category"] == "violence" and chk["case"]["police"],
            "the check classifies a fight as a police matter", chk)
    s.check(chk["case"]["org"]["kind"] == "station" and chk["case"]["status"] == "new",
            "the check names the station it goes to", chk.get("case"))
    s.check(chk["nearby"] == [] and chk["would_join"] is None, "nothing nearby in a fresh city", chk)
    st, after = srv.get("/api/v1/cases?limit=500", token=admin)
    s.check(len(after["cases"]) == len(cases_before["cases"]), "the check stores nothing")

    st, filed = srv.post("/api/v1/reports", rep, token=admin)
    s.check(st == 201, "the report is filed", filed)
    st, chk2 = srv.post("/api/v1/reports/check", dict(rep, text="门口还在打架"), token=admin)
    s.check(st == 200 and chk2["would_join"] == filed["case"]["id"], "a second report would join the first", chk2)
    s.check(len(chk2["nearby"]) == 1 and chk2["nearby"][0]["case"]["id"] == filed["case"]["id"]
            and chk2["nearby"][0]["distance_m"] == 0, "the open case is listed nearby at 0 m", chk2.get("nearby"))
    near = {**rep, "text": "有人在路边乱扔垃圾", "lon": P["lon"] + 0.003}
    st, chk3 = srv.post("/api/v1/reports/check", near, token=admin)
    s.check(st == 200 and not chk3["case"]["police"] and chk3["case"]["org"]["kind"] == "department",
            "a non-police matter goes to a department", chk3.get("case"))
    s.check(chk3["would_join"] is None and len(chk3["nearby"]) == 1 and 250 < chk3["nearby"][0]["distance_m"] < 350,
            "another category nearby is a possible duplicate, not a join", chk3.get("nearby"))
    far = {**rep, "lon": P["lon"] + 0.02}
    st, chk4 = srv.post("/api/v1/reports/check", far, token=admin)
    s.check(st == 200 and chk4["nearby"] == [], "nothing is nearby 2 km away", chk4.get("nearby"))

    # resolved cases are no duplicates
    c = filed["case"]
    st, moved = srv.post("/api/v1/cases/%d/transitions" % c["id"], {"to": "resolved", "version": c["version"]}, token=admin)
    st, chk5 = srv.post("/api/v1/reports/check", rep, token=admin)
    s.check(st == 200 and chk5["nearby"] == [] and chk5["would_join"] is None, "a resolved case is not offered", chk5)

    # bad input names the field and stores nothing; roles and scope hold
    for body, field in [({**rep, "lon": "x"}, "lon"), ({**rep, "source": "999"}, "source"),
                        ({**rep, "text": ""}, "text"), ({**rep, "category": "nope"}, "category"),
                        ({**rep, "extra": 1}, "extra"), ({**rep, "lon": 100.0}, "lon")]:
        st, b = srv.post("/api/v1/reports/check", body, token=admin)
        s.check(st == 400 and is_error(b, field=field), "a bad %s is a 400 naming it" % field, b)
    st, b = srv.post("/api/v1/reports/check", raw=b"{", token=admin)
    s.check(st == 400 and is_error(b, field="body"), "a broken body is a 400 naming body", b)
    st, b = srv.post("/api/v1/reports/check", rep, token=analyst)
    s.check(st == 403 and is_error(b, "forbidden"), "an analyst may not check reports", b)
    st, b = srv.post("/api/v1/reports/check", {**rep, "lon": 120.95, "lat": 31.38}, token=officer)
    s.check(st == 400 and is_error(b, field="lon"), "a place outside the officer's station is refused", b)
    st, b = srv.post("/api/v1/reports/check", rep)
    s.check(st == 401, "no token, no check", b)

    # --- areas by bounding box, simplified
    st, all_g = srv.get("/api/v1/areas?kind=police_grid&format=geojson", token=admin)
    box = "120.60,31.30,120.64,31.33"
    st, part = srv.get("/api/v1/areas?kind=police_grid&format=geojson&bbox=" + box, token=admin)
    s.check(st == 200 and 0 < len(part["features"]) < len(all_g["features"]), "bbox keeps the grids in view",
            (len(part.get("features", [])), len(all_g["features"])))

    def overlaps(f, b):
        xs, ys = [], []

        def walk(c):
            if isinstance(c[0], (int, float)):
                xs.append(c[0]); ys.append(c[1])
            else:
                for x in c:
                    walk(x)
        walk(f["geometry"]["coordinates"])
        return min(xs) <= b[2] and max(xs) >= b[0] and min(ys) <= b[3] and max(ys) >= b[1]
    bb = [float(x) for x in box.split(",")]
    inside = [f["id"] for f in all_g["features"] if overlaps(f, bb)]
    s.check(sorted(inside) == sorted(f["id"] for f in part["features"]), "bbox gives exactly the grids whose box meets it")
    st, full_d = srv.get("/api/v1/areas?kind=district&format=geojson&bbox=" + box, token=admin)
    st, thin = srv.get("/api/v1/areas?kind=district&format=geojson&simplify=20&bbox=" + box, token=admin)

    def npts(fc):
        n = [0]

        def walk(c):
            if isinstance(c[0], (int, float)):
                n[0] += 1
            else:
                for x in c:
                    walk(x)
        for f in fc["features"]:
            walk(f["geometry"]["coordinates"])
        return n[0]
    s.check(st == 200 and [f["id"] for f in thin["features"]] == [f["id"] for f in full_d["features"]]
            and npts(thin) < npts(full_d) / 2, "simplify thins the same districts", (npts(thin), npts(full_d)))
    rings_ok = all(len(r) >= 4 and r[0] == r[-1] for f in thin["features"]
                   for poly in (f["geometry"]["coordinates"] if f["geometry"]["type"] == "MultiPolygon"
                                else [f["geometry"]["coordinates"]]) for r in poly)
    s.check(rings_ok, "every simplified ring stays closed with at least four positions")
    st, gov = srv.get("/api/v1/areas?kind=gov_grid&format=geojson&simplify=5&bbox=120.62,31.31,120.63,31.32", token=admin)
    props = [f["properties"] for f in gov["features"]]
    s.check(st == 200 and props and all("fused_police" in p and "split" in p and "fusion_ratio" in p for p in props),
            "governance grids carry their fused police grid", props[:1])
    for q, field in [("bbox=1,2,3", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=120.7,31,120.6,32", "bbox"),
                     ("bbox=120,31,121,91", "bbox"), ("bbox=120,31,121,32,", "bbox"),
                     ("format=geojson&simplify=-1", "simplify"), ("format=geojson&simplify=1001", "simplify"),
                     ("format=geojson&simplify=nan", "simplify"), ("simplify=5", "simplify")]:
        st, b = srv.get("/api/v1/areas?kind=station&" + q, token=admin)
        s.check(st == 400 and is_error(b, field=field), "%s is a 400 naming %s" % (q, field), b)
    st, mine = srv.get("/api/v1/areas?kind=police_grid&format=geojson&bbox=119,30,122,33", token=officer)
    s.check(st == 200 and 0 < len(mine["features"]) < len(all_g["features"]),
            "a bbox over the whole city still gives the officer only the station's grids", len(mine["features"]))

    # --- searching areas by name or code (the command map's place search)
    def every(token, extra=""):
        out, cur = [], ""
        while True:
            st, b = srv.get("/api/v1/areas?limit=1000" + extra + ("&cursor=" + cur if cur else ""), token=token)
            assert st == 200, (st, b)
            out += b["areas"]
            if not b["next_cursor"]:
                return out
            cur = b["next_cursor"]

    def expect(areas, q):
        return [a["id"] for a in areas if q in a["name"] or (a.get("code") or "").lower().startswith(q.lower())]

    everything = every(admin)
    for q in ["山塘", "派出所第3警务网格", "320508", "320508-ps04", "姑苏区"]:
        got = every(admin, "&q=" + urllib.parse.quote(q))
        want = expect(everything, q)
        s.check(len(want) > 0 and [a["id"] for a in got] == want,
                "q=%s finds exactly the areas whose name holds it or whose code starts with it (%d)" % (q, len(want)),
                ([a["name"] for a in got[:5]], len(got), len(want)))
    st, b = srv.get("/api/v1/areas?q=%E5%B1%B1%E5%A1%98&kind=community", token=admin)
    s.check(st == 200 and b["areas"] and all(a["kind"] == "community" and "山塘" in a["name"] for a in b["areas"]),
            "q combines with kind", b)
    first = srv.get("/api/v1/areas?q=320508&limit=7", token=admin)[1]
    second = srv.get("/api/v1/areas?q=320508&limit=7&cursor=" + first["next_cursor"], token=admin)[1]
    s.check([a["id"] for a in first["areas"] + second["areas"]] == expect(everything, "320508")[:14],
            "a search pages by cursor like the list", (first, second))
    mine = every(officer)
    for q in ["社区", "派出所", "320508", "姑苏"]:
        got = [a["id"] for a in every(officer, "&q=" + urllib.parse.quote(q))]
        s.check(got == expect(mine, q) and len(got) < len(expect(everything, q)),
                "the officer's search %s finds only areas in the station's scope" % q,
                (len(got), len(expect(everything, q))))
    st, b = srv.get("/api/v1/areas?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E5%9C%B0%E6%96%B9", token=admin)
    s.check(st == 200 and b["areas"] == [] and b["next_cursor"] is None, "a search that finds nothing is an empty list", b)
    for q in ["", "x" * 65]:
        st, b = srv.get("/api/v1/areas?q=" + q, token=admin)
        s.check(st == 400 and is_error(b, field="q"), "q of %d bytes is a 400 naming q" % len(q), b)

s.done()
