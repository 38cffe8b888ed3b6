"""Bulk ingest over real HTTP: NDJSON with good and bad lines mixed; the bad
ones are listed by line number with the field at fault, the good ones are
stored together and open cases."""
import json

from harness import Server, Suite, is_error

s = Suite("integration/events")


def ndjson(srv, tok, lines, ctype="application/x-ndjson"):
    body = "\n".join(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False) for l in lines)
    st, b, _ = srv.request("POST", "/api/v1/events", raw=body.encode(), token=tok,
                           headers={"Content-Type": ctype})
    return st, b


def count(srv, tok):
    n, cursor = 0, None
    while True:
        st, body = srv.get("/api/v1/cases?limit=500" + ("&cursor=" + cursor if cursor else ""), token=tok)
        n += len(body["cases"])
        cursor = body["next_cursor"]
        if not cursor:
            return n


with Server.demo() as srv:
    admin = srv.login("admin", "safegrid-admin")
    good = lambda i, text="有人偷电动车": {"kind": "report", "source": "12345", "text": text,
                                        "lon": 120.55 + 0.01 * i, "lat": 31.25 + 0.005 * i}
    lines = [
        good(0),                                                     # 1
        "{not json",                                                 # 2
        good(1, "路灯坏了"),                                          # 3
        {"kind": "alarm", "source": "110"},                           # 4: unknown kind
        {"kind": "report", "source": "110", "text": "打架", "lon": 500, "lat": 31.3},  # 5
        "",                                                          # 6: blank, skipped
        [1, 2, 3],                                                   # 7: not an object
        good(2, "工地拖欠工资"),                                      # 8
        {"kind": "report", "source": "110", "text": "打架", "lon": 120.6, "lat": 31.3, "x": 1},  # 9
    ]
    before = count(srv, admin)
    st, body = ndjson(srv, admin, lines)
    s.check(st == 200 and body["accepted"] == 3, "the three good lines are accepted", body)
    rej = {r["line"]: r["error"] for r in body.get("rejected", [])}
    s.check(sorted(rej) == [2, 4, 5, 7, 9], "each bad line is rejected by its number, from 1", sorted(rej))
    s.check(rej.get(2, {}).get("code") == "invalid_json", "a broken line is invalid_json", rej.get(2))
    s.check(rej.get(4, {}).get("field") == "kind" and rej.get(7, {}).get("field") == "kind", "an unknown kind names kind")
    s.check(rej.get(5, {}).get("field") == "lon" and rej.get(9, {}).get("field") == "x", "bad members are named")
    s.check(count(srv, admin) == before + 3, "exactly the good lines opened cases")
    st, lst = srv.get("/api/v1/cases?limit=3", token=admin)
    s.check(sorted(c["category"] for c in lst["cases"]) == sorted(["theft", "municipal_facilities", "labour"]),
            "the ingested reports were classified", [c["category"] for c in lst["cases"]])

    # Two lines about one incident in the same batch join one case.
    st, body = ndjson(srv, admin, [good(9, "有人抢劫"), good(9, "抢劫啦快来人")])
    st2, lst = srv.get("/api/v1/cases?limit=1", token=admin)
    s.check(st == 200 and body["accepted"] == 2 and lst["cases"][0]["reports"] == 2,
            "lines of one batch join each other's cases", (body, lst["cases"][0]["reports"]))

    st, body = ndjson(srv, admin, [good(3)], ctype="application/json")
    s.check(st == 415 and is_error(body, field="Content-Type"), "a non-NDJSON body is 415", body)
    st, body = ndjson(srv, admin, [])
    s.check(st == 200 and body == {"accepted": 0, "rejected": []}, "an empty batch accepts nothing", body)
    analyst = srv.login("analyst", "safegrid-demo")
    st, body = ndjson(srv, analyst, [good(4)])
    s.check(st == 403, "an analyst may not ingest", body)
    st, body = ndjson(srv, admin, [good(5)] * 50001)
    s.check(st == 413 and is_error(body, "too_large"), "more than 50,000 lines is 413", st)
    s.check(count(srv, admin) == before + 4, "refused batches stored nothing (3 cases, then 2 lines joined into 1)")
s.done()
