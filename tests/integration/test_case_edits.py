"""Correcting cases over real HTTP: moving a case re-locates and re-routes it
(on the history, with the statistics following), and a wrongly joined
report is split out into a case of its own."""
from harness import Server, Suite, is_error

s = Suite("integration/case_edits")

with Server.demo() as srv:
    admin = srv.login("admin", "safegrid-admin")
    st, first = srv.post("/api/v1/reports", {"source": "110", "text": "有人打架", "lon": 120.62, "lat": 31.31}, token=admin)
    c = first["case"]
    station = [a for a in c["areas"] if a["kind"] == "station"][0]

    # Move it to 昆山市: a different station owns it now.
    st, body = srv.post("/api/v1/cases/%d/location" % c["id"], {"lon": 120.98, "lat": 31.385, "version": c["version"],
                                                                "note": "地址更正"}, token=admin)
    s.check(st == 200 and any(a["kind"] == "district" and a["code"] == "320583" for a in body["areas"])
            and body["org"]["id"] != station["id"] and body["version"] == c["version"] + 1,
            "moving a case re-locates it and hands it to the station of the new place", body)
    st, full = srv.get("/api/v1/cases/%d" % c["id"], token=admin)
    s.check("re-routed from station %d" % station["id"] in (full["history"][-1]["note"] or "")
            and "地址更正" in full["history"][-1]["note"], "the move and the re-routing are on the history", full["history"][-1])
    st, stats = srv.get("/api/v1/stats?group=district", token=admin)
    d = {g["key"]: g["value"] for g in stats["groups"]}
    s.check(d.get("320583") == 1 and d.get("320508") == 0, "the statistics follow the case", d)
    for body, field in [({"lon": 500, "lat": 31, "version": 2}, "lon"), ({"lon": 116.4, "lat": 39.9, "version": 2}, "lon"),
                        ({"lon": 120.6, "lat": 31.3}, "version"), ({"lon": 120.6, "lat": 31.3, "version": 2, "crs": "x"}, "crs")]:
        st, resp = srv.post("/api/v1/cases/%d/location" % c["id"], body, token=admin)
        s.check(st == 400 and is_error(resp, field=field), "a bad move is 400 naming %s" % field, resp)
    st, resp = srv.post("/api/v1/cases/%d/location" % c["id"], {"lon": 120.6, "lat": 31.3, "version": 1}, token=admin)
    s.check(st == 409 and resp["error"]["current_version"] == 2, "a stale move is 409", resp)

    # A referral moved across districts is re-routed by the routing table if it differs.
    st, noise = srv.post("/api/v1/reports", {"source": "12345", "text": "楼上装修太吵", "lon": 120.62, "lat": 31.32}, token=admin)
    n = noise["case"]
    st, body = srv.post("/api/v1/cases/%d/location" % n["id"], {"lon": 121.10, "lat": 31.45, "version": n["version"]}, token=admin)
    s.check(st == 200 and body["type"] == "referral" and body["police"] is False, "a referral can be moved", body)

    # Split: two reports joined, one was about something else nearby.
    st, a = srv.post("/api/v1/reports", {"source": "110", "text": "有人偷电动车", "lon": 120.60, "lat": 31.30}, token=admin)
    st, b = srv.post("/api/v1/reports", {"source": "12345", "text": "电动车被偷了", "lon": 120.6005, "lat": 31.3003,
                                         "caller": {"name": "王五", "phone": "13700001111"}}, token=admin)
    case = b["case"]
    s.check(b["joined"] and case["reports"] == 2, "the second report joined", b)
    st, body = srv.post("/api/v1/cases/%d/split" % case["id"], {"report_id": 999999, "version": case["version"]}, token=admin)
    s.check(st == 400 and is_error(body, field="report_id"), "a report of another case cannot be split out", body)
    st, body = srv.post("/api/v1/cases/%d/split" % case["id"], {"report_id": b["report"]["id"], "version": 1}, token=admin)
    s.check(st == 409 and body["error"]["code"] == "conflict", "a stale split is 409", body)
    st, body = srv.post("/api/v1/cases/%d/split" % case["id"], {"report_id": b["report"]["id"], "version": case["version"]}, token=admin)
    s.check(st == 201 and body["case"]["reports"] == 1 and body["new_case"]["reports"] == 1
            and body["new_case"]["id"] != case["id"] and body["new_case"]["category"] == "theft",
            "a wrongly joined report is split out into its own case", body)
    new_id = body["new_case"]["id"]
    st, nc = srv.get("/api/v1/cases/%d" % new_id, token=admin)
    s.check([r["id"] for r in nc["reports_list"]] == [b["report"]["id"]] and "split out of case %d" % case["id"] in nc["history"][0]["note"],
            "the new case holds the report and says where it came from", nc.get("history"))
    st, old = srv.get("/api/v1/cases/%d" % case["id"], token=admin)
    s.check([r["id"] for r in old["reports_list"]] == [a["report"]["id"]] and "split out to case %d" % new_id in old["history"][-1]["note"],
            "the old case keeps the other report and records the split", old["history"][-1])
    st, body = srv.post("/api/v1/cases/%d/split" % case["id"], {"report_id": a["report"]["id"], "version": old["version"]}, token=admin)
    s.check(st == 409, "a case's only report cannot be split out", body)
s.done()
