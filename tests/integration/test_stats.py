"""Statistics over real HTTP: counters kept with the cases, year-on-year and
month-on-month comparison, grouping by category, district, source and
police/non-police, scope, and bad parameters."""
import time

from harness import Server, Suite, is_error

s = Suite("integration/stats")

GUSU = (120.62, 31.31)
KUNSHAN = (120.98, 31.385)


def report(srv, tok, text, lon, lat, source="110"):
    st, body = srv.post("/api/v1/reports", {"source": source, "text": text, "lon": lon, "lat": lat}, token=tok)
    assert st in (200, 201), body
    return body["case"]


def today(srv, tok):
    st, body = srv.get("/api/v1/stats", token=tok)
    return body["to"]


with Server.demo(extra=["--test-clock"]) as srv:
    admin = srv.login("admin", "safegrid-admin")
    # Last year: 4 thefts in 姑苏区 (spread apart so none joins another), 1 noise.
    for i in range(4):
        report(srv, admin, "电动车被偷了", GUSU[0] + 0.005 * i, GUSU[1])
    report(srv, admin, "楼上装修太吵", GUSU[0], GUSU[1] + 0.01, source="12345")
    last_year = today(srv, admin)
    st, body = srv.post("/api/v1/admin/clock", {"advance_s": 365 * 86400}, token=admin)
    # This year: 3 thefts in 姑苏区, 2 in 昆山市, 2 noise in 姑苏区. (0.005° apart: no joining.)
    for i in range(3):
        report(srv, admin, "电动车被偷了", GUSU[0] + 0.005 * i, GUSU[1] - 0.01)
    for i in range(2):
        report(srv, admin, "手机被偷了", KUNSHAN[0] + 0.01 * i, KUNSHAN[1])
        report(srv, admin, "广场舞噪音太大", GUSU[0] + 0.005 * i, GUSU[1] + 0.02, source="12345")
    now = today(srv, admin)
    s.check(now[:4] == str(int(last_year[:4]) + 1) and now[4:] == last_year[4:], "the clock moved one year", (last_year, now))

    st, body = srv.get("/api/v1/stats?measure=cases&group=category&area=320500&from=%s&to=%s&compare=yoy" % (now, now), token=admin)
    g = {x["key"]: x for x in body.get("groups", [])}
    s.check(st == 200 and g.get("theft", {}).get("value") == 5 and g["theft"]["previous"] == 4
            and g["theft"]["change_pct"] == 25.0, "theft city-wide: 5 against 4, +25% year on year", g.get("theft"))
    s.check(g.get("noise", {}).get("value") == 2 and g["noise"]["previous"] == 1 and g["noise"]["change_pct"] == 100.0,
            "noise: 2 against 1, +100%", g.get("noise"))
    s.check(body["total"] == {"value": 7, "previous": 5, "change_pct": 40.0}, "the total compares too", body.get("total"))
    s.check(body["previous_from"] == last_year and body["compare"] == "yoy", "the comparison period is a year before", body.get("previous_from"))

    st, body = srv.get("/api/v1/stats?group=category&area=320508&from=%s&to=%s" % (now, now), token=admin)
    g = {x["key"]: x for x in body["groups"]}
    s.check(g["theft"]["value"] == 3 and g["theft"]["previous"] == 4 and g["theft"]["change_pct"] == -25.0,
            "theft in 姑苏区: −25% year on year", g["theft"])

    st, body = srv.get("/api/v1/stats?group=district&from=%s&to=%s" % (now, now), token=admin)
    d = {x["key"]: x for x in body["groups"]}
    s.check(st == 200 and len(d) == 10 and d["320508"]["value"] == 5 and d["320508"]["previous"] == 5 and d["320583"]["value"] == 2
            and d["320583"]["previous"] == 0 and d["320583"]["change_pct"] is None,
            "by district, with no percentage where there was nothing before", {k: d[k] for k in ("320508", "320583")} if d else body)
    st, body = srv.get("/api/v1/stats?group=source&from=%s&to=%s" % (now, now), token=admin)
    src = {x["key"]: x["value"] for x in body["groups"]}
    s.check(src == {"110": 5, "12345": 2}, "by source", src)
    st, body = srv.get("/api/v1/stats?group=police&from=%s&to=%s" % (now, now), token=admin)
    pol = {x["key"]: x["value"] for x in body["groups"]}
    s.check(pol == {"police": 5, "non_police": 2}, "police and non-police (the diverted share)", pol)

    # Month on month: last month had nothing.
    st, body = srv.get("/api/v1/stats?group=category&from=%s&to=%s&compare=mom" % (now, now), token=admin)
    s.check(st == 200 and body["total"]["previous"] == 0 and body["total"]["value"] == 7, "month on month", body.get("total"))

    # Diverting a case moves it between police and non-police in the counters.
    st, lst = srv.get("/api/v1/cases?category=theft&limit=1", token=admin)
    c = lst["cases"][0]
    srv.post("/api/v1/cases/%d/divert" % c["id"], {"department": "city_management", "version": c["version"]}, token=admin)
    st, body = srv.get("/api/v1/stats?group=police&from=%s&to=%s" % (now, now), token=admin)
    pol = {x["key"]: x["value"] for x in body["groups"]}
    s.check(pol == {"police": 4, "non_police": 3}, "a diverted case counts as non-police", pol)

    # Resolution times.
    st, c = srv.get("/api/v1/cases/%d" % lst["cases"][0]["id"], token=admin)
    for to in ("acknowledged", "resolved"):
        st, c = srv.post("/api/v1/cases/%d/transitions" % c["id"], {"to": to, "version": c["version"]}, token=admin)
    st, body = srv.get("/api/v1/stats?from=%s&to=%s" % (now, now), token=admin)
    s.check(body["resolved"] == 1 and body["mean_resolution_s"] is not None, "resolutions are counted with their time", body.get("resolved"))

    # Scope and bad input.
    officer = srv.login("officer", "safegrid-demo")
    st, body = srv.get("/api/v1/stats?area=320583", token=officer)
    s.check(st == 404 and is_error(body, field="area"), "an officer cannot read another district's statistics", body)
    st, body = srv.get("/api/v1/stats", token=officer)
    s.check(st == 200 and body["area"]["kind"] == "station", "an officer's statistics default to the station", body.get("area"))
    for q, field in [("measure=money", "measure"), ("group=planet", "group"), ("compare=wow", "compare"),
                     ("from=yesterday", "from"), ("to=2026-13-45", "to"), ("from=2027-01-02&to=2027-01-01", "from")]:
        st, body = srv.get("/api/v1/stats?" + q, token=admin)
        s.check(st == 400 and is_error(body, field=field), "bad %s is 400 naming it" % field, body)
s.done()
