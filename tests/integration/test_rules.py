"""The classification rules are configuration an admin reads and replaces
over HTTP: validated before use, applied to the next report, kept across a
restart, audited; a bad document changes nothing."""
import json
import sqlite3

from harness import Server, Suite, is_error

s = Suite("integration/rules")

srv = Server.demo()
with srv:
    admin = srv.login("admin", "safegrid-admin")
    analyst = srv.login("analyst", "safegrid-demo")
    st, cfg = srv.get("/api/v1/admin/classify", token=admin)
    s.check(st == 200 and len(cfg["categories"]) >= 20 and len(cfg["departments"]) >= 20,
            "an admin reads the rules", st)
    st, body = srv.get("/api/v1/admin/classify", token=analyst)
    s.check(st == 403, "an analyst may not", body)

    st, body, _ = srv.request("PUT", "/api/v1/admin/classify", raw=b'{"version":', token=admin)
    s.check(st == 400 and is_error(body, "invalid_json"), "broken JSON is refused", body)
    bad = json.loads(json.dumps(cfg))
    bad["categories"][0]["colour"] = "red"
    st, body, _ = srv.request("PUT", "/api/v1/admin/classify", raw=json.dumps(bad).encode(), token=admin)
    s.check(st == 400 and is_error(body, field="categories[0].colour"), "an unknown member is refused by its path", body)
    bad = json.loads(json.dumps(cfg))
    bad["routing"].append({"category": "noise", "department": "ministry_of_magic"})
    st, body, _ = srv.request("PUT", "/api/v1/admin/classify", raw=json.dumps(bad).encode(), token=admin)
    s.check(st == 400 and body["error"]["field"].startswith("routing["), "a route to an unknown department is refused", body)
    st, again = srv.get("/api/v1/admin/classify", token=admin)
    s.check(again == cfg, "refused documents changed nothing")
    st, r = srv.post("/api/v1/reports", {"source": "110", "text": "小区里发现了外星人飞船", "lon": 120.62, "lat": 31.31}, token=admin)
    before = r["case"]["category"]

    new = json.loads(json.dumps(cfg))
    cat = next(c for c in new["categories"] if c["id"] == "public_order")
    cat["rules"].append({"terms": ["外星人"], "weight": 100})
    st, body, _ = srv.request("PUT", "/api/v1/admin/classify", raw=json.dumps(new, ensure_ascii=False).encode(), token=admin)
    s.check(st == 200 and body["ok"], "a valid document replaces the rules", body)
    st, r = srv.post("/api/v1/reports", {"source": "110", "text": "小区里又发现了外星人", "lon": 120.70, "lat": 31.35}, token=admin)
    s.check(r["case"]["category"] == "public_order" and before != "public_order",
            "the next report is classified by the new rules", (before, r["case"]["category"]))
    con = sqlite3.connect(srv.db)
    n = con.execute("SELECT count(*) FROM audit WHERE action='rules.classify.replace'").fetchone()[0]
    con.close()
    s.check(n == 1, "the replacement is audited", n)
    srv.stop()
    srv.start()
    admin = srv.login("admin", "safegrid-admin")
    st, r = srv.post("/api/v1/reports", {"source": "110", "text": "外星人又来了", "lon": 120.55, "lat": 31.25}, token=admin)
    s.check(r["case"]["category"] == "public_order", "the replaced rules survive a restart", r["case"]["category"])
s.done()
