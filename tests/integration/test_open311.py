"""Open311 GeoReport v2 for the 12345 hotline's partners, over real HTTP:
services from the taxonomy, form-encoded requests filed through the
report pipeline and read back (by id and in the list) as their case
moves from open to closed, each bad input a 400 naming its field with
nothing stored, jurisdiction scoping, and unknown ids."""
import json
import urllib.parse

from harness import Server, Suite, is_error

s = Suite("integration/open311")

FORM = "application/x-www-form-urlencoded"
HUQIU = (120.6285, 31.3237)   # 虎丘派出所, not the demo officer's station


def post_form(srv, tok, fields, ctype=FORM):
    """fields: a dict or a list of pairs (for repeated names), or raw bytes."""
    raw = fields if isinstance(fields, bytes) else urllib.parse.urlencode(fields).encode()
    st, body, _ = srv.request("POST", "/open311/v2/requests.json", raw=raw, token=tok,
                              headers={"Content-Type": ctype})
    return st, body


def good(**kw):
    f = {"service_code": "municipal_facilities", "lat": "%.6f" % HUQIU[1], "long": "%.6f" % HUQIU[0],
         "description": "路灯坏了好几天了，晚上很黑"}
    f.update(kw)
    return f


def newest_case(srv, tok):
    """The id of the newest case (the store may hold a long history)."""
    st, body = srv.get("/api/v1/cases?limit=1", token=tok)
    return body["cases"][0]["id"] if body["cases"] else 0


def transition(srv, tok, cid, to):
    st, c = srv.get("/api/v1/cases/%s" % cid, token=tok)
    return srv.post("/api/v1/cases/%s/transitions" % cid, {"to": to, "version": c["version"]}, token=tok)


def point_in_station(srv, tok, station_id):
    """A point the locator puts in the station, searched on a grid over its bbox."""
    st, a = srv.get("/api/v1/areas/%d" % station_id, token=tok)
    x0, y0, x1, y1 = a["bbox"]
    for i in range(1, 10):
        for j in range(1, 10):
            lon, lat = x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * j / 10
            st, loc = srv.get("/api/v1/locate?lon=%.6f&lat=%.6f" % (lon, lat), token=tok)
            if st == 200 and any(x["kind"] == "station" and x["id"] == station_id for x in loc["areas"]):
                return lon, lat
    raise RuntimeError("no point found in station %d" % station_id)


def main():
    with Server.demo() as srv:
        admin = srv.login("admin", "safegrid-admin")
        officer = srv.login("officer", "safegrid-demo")
        analyst = srv.login("analyst", "safegrid-demo")

        # --- services
        st, services = srv.get("/open311/v2/services.json", token=officer)
        st_c, cats = srv.get("/api/v1/categories", token=admin)
        s.check(st == 200 and [x["service_code"] for x in services] == [c["id"] for c in cats["categories"]],
                "one service per category, in order", services)
        byc = {x["service_code"]: x for x in services}
        noise = byc.get("noise", {})
        s.check(noise.get("service_name") == "噪声扰民" and noise.get("metadata") is False
                and noise.get("type") == "realtime" and "non-police" in noise.get("keywords", "")
                and noise.get("description") == next(c["name_en"] for c in cats["categories"] if c["id"] == "noise")
                and isinstance(noise.get("group"), str) and noise["group"],
                "a service carries the category's names, realtime, no metadata, its group", noise)
        s.check(",police," in byc.get("theft", {}).get("keywords", ""), "police services say so in keywords",
                byc.get("theft"))
        st, body = srv.get("/open311/v2/services.json")
        s.check(st == 401 and is_error(body), "services need a token (api_key is not used)", body)

        # --- round trip
        before = newest_case(srv, admin)
        st, body = post_form(srv, admin, good(address_string="山塘街100号", last_name="张", first_name="三",
                                              phone="13812345678", email="z@example.com",
                                              device_id="dev-1", account_id="77", api_key="ignored",
                                              media_url="http://example.com/a.jpg", **{"attribute[WHISPER]": "x"}))
        ok = s.check(st == 201 and isinstance(body, list) and len(body) == 1
                     and set(body[0]) == {"service_request_id", "service_notice", "account_id"}
                     and body[0]["account_id"] is None and isinstance(body[0]["service_request_id"], str),
                     "a request answers [{service_request_id, service_notice, account_id}] with 201", body)
        if not ok:
            return
        rid = body[0]["service_request_id"]
        s.check(int(rid) > before and newest_case(srv, admin) == int(rid), "the request opened a new case")
        st, case = srv.get("/api/v1/cases/%s" % rid, token=admin)
        rep = case["reports_list"][0]
        s.check(case["source"] == "12345" and case["category"] == "municipal_facilities"
                and rep["caller"]["name"] == "张三" and rep["caller"]["phone"] == "13812345678"
                and rep["text"] == "路灯坏了好几天了，晚上很黑\n地址：山塘街100号",
                "the case is a 12345 report: category, caller last+first name, phone, address in the text", case)
        st, one = srv.get("/open311/v2/requests/%s.json" % rid, token=admin)
        r = one[0] if st == 200 and isinstance(one, list) and len(one) == 1 else {}
        s.check(r.get("service_request_id") == rid and r.get("status") == "open" and r.get("status_notes") == "sent"
                and r.get("service_code") == "municipal_facilities" and r.get("service_name") == byc["municipal_facilities"]["service_name"]
                and r.get("description", "").startswith("路灯坏了") and r.get("agency_responsible") == case.get("department_zh")
                and r.get("expected_datetime") == case["deadline_at"] and r.get("requested_datetime") == case["created_at"]
                and r.get("address") is None and abs(r.get("lat", 0) - HUQIU[1]) < 1e-6 and abs(r.get("long", 0) - HUQIU[0]) < 1e-6,
                "the request reads back by id, open, with its case's fields", one)
        st, lst = srv.get("/open311/v2/requests.json", token=admin)
        s.check(st == 200 and [x["service_request_id"] for x in lst].count(rid) == 1, "the request is in the list", lst)

        # the same matter reported again nearby joins the case
        st, again = post_form(srv, admin, good(lat="%.6f" % (HUQIU[1] + 0.0002), description="路灯不亮"))
        s.check(st == 200 and again[0]["service_request_id"] == rid, "a duplicate joins: 200, same id", again)

        # close: sent -> acknowledged -> in_progress -> resolved -> closed
        for to in ("acknowledged", "in_progress"):
            st, c = transition(srv, admin, rid, to)
            s.check(st == 200, "transition to " + to, c)
        st, one = srv.get("/open311/v2/requests/%s.json" % rid, token=admin)
        s.check(one[0]["status"] == "open" and one[0]["status_notes"] == "in_progress", "in progress is open", one)
        for to in ("resolved", "closed"):
            st, c = transition(srv, admin, rid, to)
            s.check(st == 200, "transition to " + to, c)
        st, one = srv.get("/open311/v2/requests/%s.json" % rid, token=admin)
        s.check(one[0]["status"] == "closed" and one[0]["status_notes"] == "closed"
                and one[0]["updated_datetime"] >= one[0]["requested_datetime"], "a closed case is closed", one)
        st, lst = srv.get("/open311/v2/requests.json?status=closed", token=admin)
        s.check(rid in [x["service_request_id"] for x in lst], "status=closed lists it", lst)
        st, lst = srv.get("/open311/v2/requests.json?status=open", token=admin)
        s.check(rid not in [x["service_request_id"] for x in lst], "status=open does not", lst)

        # --- filters
        st, other = post_form(srv, admin, good(service_code="noise", description="楼上装修太吵了",
                                               lat="%.6f" % (HUQIU[1] + 0.01)))
        nid = other[0]["service_request_id"]
        st, lst = srv.get("/open311/v2/requests.json?service_code=noise", token=admin)
        ids = [x["service_request_id"] for x in lst]
        s.check(st == 200 and nid in ids and rid not in ids and all(x["service_code"] == "noise" for x in lst),
                "service_code filters", lst)
        st, lst = srv.get("/open311/v2/requests.json?service_code=noise,municipal_facilities", token=admin)
        s.check({nid, rid} <= {x["service_request_id"] for x in lst}, "service_code takes a comma list", lst)
        st, lst = srv.get("/open311/v2/requests.json?service_request_id=%s,%s,999999999999" % (rid, nid), token=admin)
        s.check(st == 200 and [x["service_request_id"] for x in lst] == [rid, nid],
                "service_request_id lists those asked for, in order, unknown ones left out", lst)
        st, lst = srv.get("/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z", token=admin)
        s.check(st == 200 and lst == [], "a start_date in the future lists nothing", lst)
        st, lst = srv.get("/open311/v2/requests.json?end_date=2000-01-01T00:00:00%2B08:00", token=admin)
        s.check(st == 200 and lst == [], "an end_date long past lists nothing", lst)
        st, lst = srv.get("/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2099-01-01T00:00:00%2B0800",
                          token=admin)
        s.check(st == 200 and {nid, rid} <= {x["service_request_id"] for x in lst}, "a date range covering them lists them", lst)
        for q, field in (("status=pending", "status"), ("start_date=yesterday", "start_date"),
                         ("end_date=2026-11-28", "end_date"), ("service_code=teleport", "service_code"),
                         ("service_request_id=1,abc", "service_request_id"), ("service_request_id=", "service_request_id"),
                         ("start_date=2026-11-28T00:00:00Z&end_date=2026-11-27T00:00:00Z", "end_date")):
            st, body = srv.get("/open311/v2/requests.json?" + q, token=admin)
            s.check(st == 400 and is_error(body, "invalid", field), "list: %s is a 400 naming %s" % (q, field), body)

        # --- bad inputs: each a 400 naming the field, nothing stored
        before = newest_case(srv, admin)
        bad = [
            ({k: v for k, v in good().items() if k != "service_code"}, "service_code"),
            (good(service_code="teleport"), "service_code"),
            ({k: v for k, v in good().items() if k != "lat"}, "lat"),
            (good(lat="north"), "lat"),
            (good(lat="91"), "lat"),
            ({k: v for k, v in good().items() if k != "long"}, "long"),
            (good(long="1e999"), "long"),
            ({k: v for k, v in good().items() if k != "description"}, "description"),
            (good(description="   "), "description"),
            (good(description="x" * 4001), "description"),
            (good(phone="call me"), "phone"),
            (good(last_name="张" * 30), "last_name"),
            (good(crs="mercator"), "crs"),
            (good(address_id="42"), "address_id"),
            (good(colour="red"), "colour"),
            (good(lat="0", long="0"), "long"),   # outside the city
            (list(good().items()) + [("lat", "31.3")], "lat"),
            (b"service_code=noise&lat=31.3237&long=120.6285&description=%zz", "description"),
            (b"service_code=noise&lat=31.3237&long=120.6285&description=%FF%FE", "description"),
        ]
        for fields, field in bad:
            st, body = post_form(srv, admin, fields)
            s.check(st == 400 and is_error(body, field=field), "a bad %s is a 400 naming it" % field, (fields, st, body))
        st, body = post_form(srv, admin, good(), ctype="application/json")
        s.check(st == 415 and is_error(body, field="Content-Type"), "a body that is not a form is 415", body)
        many = urllib.parse.urlencode(list(good().items()) + [("attribute[a%d]" % i, "1") for i in range(61)]).encode()
        st, body = post_form(srv, admin, many)
        s.check(st == 413 and is_error(body, "too_large", "body"), "more than 64 fields is 413", body)
        st, body = post_form(srv, admin, good(email="e" * 8193))
        s.check(st == 413 and is_error(body, "too_large", "email"), "a value over 8 KB is 413 naming it", body)
        st, body = post_form(srv, analyst, good())
        s.check(st == 403 and is_error(body, "forbidden"), "an analyst may not file requests", body)
        s.check(newest_case(srv, admin) == before, "no bad request opened a case")

        # --- scope: the officer sees only cases in their station
        st, me = srv.get("/api/v1/me", token=officer)
        mine = me["scope"][0]["id"]
        lon, lat = point_in_station(srv, officer, mine)
        st, inside = post_form(srv, admin, good(service_code="water", description="家里停水了",
                                                lat="%.6f" % lat, long="%.6f" % lon))
        s.check(st == 201, "a request in the officer's station", inside)
        iid = inside[0]["service_request_id"]
        st, lst = srv.get("/open311/v2/requests.json", token=officer)
        ids = [x["service_request_id"] for x in lst]
        s.check(st == 200 and iid in ids and rid not in ids and nid not in ids,
                "the officer lists only the station's requests", ids)
        st, body = srv.get("/open311/v2/requests/%s.json" % rid, token=officer)
        s.check(st == 404 and is_error(body, "not_found", "id"), "another station's request is 404 for the officer", body)
        st, body = srv.get("/open311/v2/requests/%s.json" % iid, token=officer)
        s.check(st == 200 and body[0]["service_request_id"] == iid, "the officer reads their station's request", body)
        st, lst = srv.get("/open311/v2/requests.json?service_request_id=%s,%s" % (rid, iid), token=officer)
        s.check(st == 200 and [x["service_request_id"] for x in lst] == [iid], "ids out of scope are left out", lst)
        st, body = post_form(srv, officer, good())
        s.check(st == 400 and is_error(body, "outside_scope", "long"), "the officer cannot file outside the station", body)

        # --- unknown ids
        st, body = srv.get("/open311/v2/requests/999999999999.json", token=admin)
        s.check(st == 404 and is_error(body, "not_found", "id"), "an unknown request is 404", body)
        st, body = srv.get("/open311/v2/requests/%s.xml" % rid, token=admin)
        s.check(st == 404 and is_error(body, "not_found"), "only .json is served", body)
        st, body = srv.get("/open311/v2/requests/abc.json", token=admin)
        s.check(st == 400 and is_error(body, "invalid", "id"), "a malformed id is 400", body)


main()
s.done()
