"""The classification rules are configuration an admin reads and replaces
over HTTP: validated before use, applied to the next report, kept across a
restart, audited; a bad document changes nothing. And the hold-out reports
(tests/unit/rules/reports_zh_holdout.tsv, never used to write the rules nor
among their examples) go through POST /api/v1/reports as 110 and 12345 would
send them: how many get the right police flag, and a department their true
category can be routed to."""
import json
import os
import sqlite3

from harness import Server, Suite, is_error

s = Suite("integration/rules")

HOLDOUT = os.path.join(os.path.dirname(__file__), "../unit/rules/reports_zh_holdout.tsv")


def holdout_rows():
    rows = []
    with open(HOLDOUT, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            category, police, text = line.rstrip("\n").split("\t")
            rows.append((category, police == "1", text))
    return rows


def run_holdout(srv, token, cfg):
    """Posts every hold-out report at its own place (400 m apart, so that none
    joins another's case); returns (rows, police right, department sensible,
    category right, rejected)."""
    police = {c["id"]: c["police"] for c in cfg["categories"]}
    routes = {}
    for r in cfg["routing"]:
        routes.setdefault(r["category"], set()).add(r["department"])
    rows = holdout_rows()
    n_police = n_dept = n_cat = rejected = 0
    for i, (category, is_police, text) in enumerate(rows):
        lon, lat = 120.56 + 0.004 * (i % 30), 31.27 + 0.004 * (i // 30)
        st, r = srv.post("/api/v1/reports", {"source": "110" if is_police else "12345", "text": text,
                                             "lon": lon, "lat": lat}, token=token)
        if st not in (200, 201):
            rejected += 1
            continue
        got = r["classification"]
        n_police += got["police"] == is_police
        n_cat += got["category"] == category
        # Sensible: a department the true category goes to somewhere, or the
        # station for a police category the routing leaves to it.
        ok = routes.get(category, set())
        if police[category] and not any(x["category"] == category and "area" not in x for x in cfg["routing"]):
            ok = ok | {"station"}
        n_dept += r["case"]["department"] in ok
    return len(rows), n_police, n_dept, n_cat, rejected


srv = Server.demo()
with srv:
    admin = srv.login("admin", "safegrid-admin")
    analyst = srv.login("analyst", "safegrid-demo")
    st, cfg = srv.get("/api/v1/admin/classify", token=admin)
    s.check(st == 200 and len(cfg["categories"]) >= 20 and len(cfg["departments"]) >= 20,
            "an admin reads the rules", st)

    # First run over HTTP: police 97.4%, sensible department 93.5%, category 91.5%; the floors
    # sit just under (the goal of the issue is 90% police).
    n, n_police, n_dept, n_cat, rejected = run_holdout(srv, admin, cfg)
    print("holdout over HTTP: %d reports, police/non-police %.1f%%, sensible department %.1f%%, "
          "category %.1f%%, %d refused" % (n, 100.0 * n_police / n, 100.0 * n_dept / n,
                                          100.0 * n_cat / n, rejected), flush=True)
    s.check(n >= 150 and rejected == 0, "every hold-out report is accepted", rejected)
    s.check(n_police * 1000 >= n * 960, "hold-out police/non-police at its first-run figure", n_police)
    s.check(n_dept * 1000 >= n * 925, "hold-out reports reach a sensible department", n_dept)
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
