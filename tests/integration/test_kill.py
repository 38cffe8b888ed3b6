"""Acknowledged means durable: writers rename areas and log in while the
server is killed with SIGKILL at random moments; after each restart every
acknowledged write is there and the database passes integrity_check.
20 rounds."""
import random
import signal
import sqlite3
import threading
import time

from harness import Server, Suite

s = Suite("integration/kill")
ROUNDS = 20
WRITERS = 4

srv = Server.demo()
acked = {}          # area id -> (round, seq) of the last acknowledged rename
acked_tokens = []   # tokens whose login was acknowledged
lock = threading.Lock()
areas = None


def writer(w, rnd, token, stop):
    mine = areas[w::WRITERS]
    seq = 0
    while not stop.is_set():
        aid = mine[seq % len(mine)]
        seq += 1
        name = "k-%d-%d-%d" % (rnd, w, seq)
        try:
            st, body = srv.patch("/api/v1/areas/%d" % aid, {"name": name}, token=token)
        except Exception:
            return  # the server died mid-request: this write was never acknowledged
        if st == 200:
            with lock:
                acked[aid] = (rnd, seq, name)


def login_writer(stop):
    while not stop.is_set():
        try:
            st, body = srv.post("/api/v1/login", {"name": "commander", "password": "safegrid-demo"})
        except Exception:
            return
        if st == 200:
            with lock:
                acked_tokens.append(body["token"])


rng = random.Random(20261128)
lost = 0
bad_integrity = 0
for rnd in range(ROUNDS):
    srv.start()
    admin = srv.login("admin", "safegrid-admin")
    if areas is None:
        st, body = srv.get("/api/v1/areas?kind=gov_grid&limit=400", token=admin)
        areas = [a["id"] for a in body["areas"]]
    # Everything acknowledged before the last kill must have survived it.
    for aid, (r, seq, name) in sorted(acked.items()):
        st, a = srv.get("/api/v1/areas/%d" % aid, token=admin)
        got = a.get("name", "") if st == 200 else ""
        parts = got.split("-")
        ok = len(parts) == 4 and parts[0] == "k" and (int(parts[1]), int(parts[3])) >= (r, seq)
        if not ok:
            lost += 1
            print("lost write: area %d acked %s stored %s" % (aid, name, got))
    for tok in acked_tokens[-20:]:
        st, _ = srv.get("/api/v1/me", token=tok)
        if st != 200:
            lost += 1
            print("lost login: token no longer valid")
    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(w, rnd, admin, stop)) for w in range(WRITERS)]
    threads.append(threading.Thread(target=login_writer, args=(stop,)))
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.2, 1.2))
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    srv.stop()
    con = sqlite3.connect(srv.db)
    res = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    if res != "ok":
        bad_integrity += 1
        print("integrity_check after round %d: %s" % (rnd, res))

# The final state, after one more restart.
srv.start()
admin = srv.login("admin", "safegrid-admin")
for aid, (r, seq, name) in sorted(acked.items()):
    st, a = srv.get("/api/v1/areas/%d" % aid, token=admin)
    parts = a.get("name", "").split("-")
    if not (len(parts) == 4 and (int(parts[1]), int(parts[3])) >= (r, seq)):
        lost += 1
srv.stop()

s.check(len(acked) > 50, "writers got acknowledgements", len(acked))
s.check(len(acked_tokens) > 0, "logins were acknowledged", len(acked_tokens))
s.check(lost == 0, "no acknowledged write was lost over %d SIGKILLs" % ROUNDS, lost)
s.check(bad_integrity == 0, "integrity_check is ok after every kill", bad_integrity)
srv.__exit__(None, None, None)
s.done()
