"""The command line: coord against the published formulas, import areas
(validation, repair, all-or-nothing), user add, audit verify catching edits."""
import json
import math
import os
import random
import sqlite3
import tempfile

from harness import Server, Suite, is_error, run_cli

s = Suite("integration/cli")
tmp = tempfile.mkdtemp(prefix="safegrid-cli-")

# --- coord: an independent implementation of the published WGS-84 -> GCJ-02 formula.
A, EE = 6378245.0, 0.00669342162296594323


def _tlat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _tlon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs_to_gcj(lon, lat):
    dlat = _tlat(lon - 105.0, lat - 35.0)
    dlon = _tlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - EE * math.sin(radlat) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (A / sq * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def metres(a, b):
    dx = (a[0] - b[0]) * 111320 * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * 110540
    return math.hypot(dx, dy)


rnd = random.Random(11)
pts = [(rnd.uniform(119.9, 121.4), rnd.uniform(30.7, 32.1)) for _ in range(500)]
stdin = "".join("%.10f,%.10f\n" % p for p in pts)
code, out, _ = run_cli("coord", "--from", "wgs84", "--to", "gcj02", stdin=stdin)
got = [tuple(map(float, line.split(","))) for line in out.split()]
worst = max(metres(g, wgs_to_gcj(*p)) for g, p in zip(got, pts))
s.check(len(got) == 500 and worst < 0.01, "wgs84->gcj02 agrees with the published formula within 1 cm", worst)
code, out2, _ = run_cli("coord", "--from", "gcj02", "--to", "wgs84", stdin=out)
back = [tuple(map(float, line.split(","))) for line in out2.split()]
worst = max(metres(b, p) for b, p in zip(back, pts))
s.check(worst < 0.01, "gcj02->wgs84 inverts the forward transform within 1 cm", worst)
code, out3, _ = run_cli("coord", "--from", "wgs84", "--to", "bd09", stdin=stdin)
code, out4, _ = run_cli("coord", "--from", "bd09", "--to", "wgs84", stdin=out3)
back = [tuple(map(float, line.split(","))) for line in out4.split()]
worst = max(metres(b, p) for b, p in zip(back, pts))
s.check(worst < 0.01, "bd09 round trip within 1 cm", worst)
s.check(len(out.split()[0].split(",")[0]) >= 15, "coord prints full double precision", out.split()[0])
code, out, err = run_cli("coord", "--from", "wgs84", "--to", "gcj02", stdin="120.5,31.3\nnot a point\n", check=False)
s.check(code == 1 and "line 2" in err and len(out.split()) == 1, "coord names a bad line and goes on", err)
code, _, _ = run_cli("coord", "--from", "utm", "--to", "gcj02", stdin="", check=False)
s.check(code == 2, "coord refuses an unknown CRS")


# --- import areas into a fresh store
def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def feat(props, geom):
    return {"type": "Feature", "properties": props, "geometry": geom}


city = feat({"kind": "city", "code": "990000", "name": "测试市"}, square(120, 31, 121, 32))
districts = [feat({"kind": "district", "code": "990001", "name": "东区", "parent_code": "990000"}, square(120.5, 31, 121, 32)),
             feat({"kind": "district", "code": "990002", "name": "西区", "parent_code": "990000"}, square(120, 31, 120.5, 32))]
# Children before their parent: the importer orders them.
stations = [feat({"kind": "station", "code": "990001-PS01", "name": "东区派出所", "parent_code": "990001"}, square(120.5, 31, 121, 32))]
bowtie = {"type": "Polygon", "coordinates": [[[120, 31], [120.5, 31.5], [120.5, 31], [120, 31.5], [120, 31]]]}


def write_fc(name, features):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f, ensure_ascii=False)
    return path


db = os.path.join(tmp, "import.db")
good = write_fc("good.geojson", stations + [city] + districts)
bad = write_fc("bad.geojson", [city, districts[0], feat({"kind": "district", "code": "990002", "name": "西区", "parent_code": "990000"}, bowtie)])
code, out, err = run_cli("import", "areas", bad, "--db", db, check=False)
s.check(code == 1 and "feature 2" in err and "Self-intersection" in err, "an invalid polygon is refused with its index and GEOS's reason", err)
con = sqlite3.connect(db)
n = con.execute("SELECT count(*) FROM areas").fetchone()[0]
con.close()
s.check(n == 0, "a refused import stores nothing (all or nothing)", n)
code, out, err = run_cli("import", "areas", bad, "--db", db, "--make-valid", check=False)
s.check(code == 0 and "repaired feature 2" in err, "--make-valid repairs and reports", (code, err))
db2 = os.path.join(tmp, "import2.db")
code, out, err = run_cli("import", "areas", good, "--db", db2, check=False)
s.check(code == 0 and "imported 4 areas" in out, "a good file imports, children before parents in the file", (out, err))
code, out, err = run_cli("import", "areas", good, "--db", db2, check=False)
s.check(code == 1 and "nothing was imported" in err, "importing the same codes again is refused", err)
con = sqlite3.connect(db2)
n = con.execute("SELECT count(*) FROM areas").fetchone()[0]
con.close()
s.check(n == 4, "the refused second import changed nothing", n)
broken = os.path.join(tmp, "broken.geojson")
with open(broken, "w") as f:
    f.write('{"type":"FeatureCollection","features":[\n{"type":"Feature",}')
code, out, err = run_cli("import", "areas", broken, "--db", db2, check=False)
s.check(code == 1 and "line 2" in err, "a JSON syntax error is reported with its line", err)

# --- user add, then log in over HTTP with that user; scope by code
code, out, err = run_cli("user", "add", "--db", db2, "--name", "east", "--role", "station_officer",
                         "--scope", "990001-PS01", "--password-stdin", stdin="correct horse battery\n", check=False)
s.check(code == 0 and "added" in out, "user add with a scope by code", (out, err))
code, out, err = run_cli("user", "add", "--db", db2, "--name", "east", "--role", "station_officer",
                         "--scope", "990001", "--password-stdin", stdin="correct horse battery\n", check=False)
s.check(code == 1 and "already exists" in err, "a duplicate user name is refused", err)
code, out, err = run_cli("user", "add", "--db", db2, "--name", "x", "--role", "king",
                         "--scope", "990001", "--password-stdin", stdin="correct horse battery\n", check=False)
s.check(code == 2 and "--role" in err, "an unknown role is refused", err)
code, out, err = run_cli("user", "add", "--db", db2, "--name", "y", "--role", "analyst",
                         "--scope", "123456", "--password-stdin", stdin="correct horse battery\n", check=False)
s.check(code == 1 and "123456" in err, "an unknown scope area is refused", err)
code, out, err = run_cli("user", "add", "--db", db2, "--name", "z", "--role", "analyst",
                         "--scope", "990000", "--password-stdin", stdin="short\n", check=False)
s.check(code == 2, "a too-short password is refused", err)
with Server(db2) as srv:
    tok = srv.login("east", "correct horse battery")
    st, body = srv.get("/api/v1/areas", token=tok)
    s.check(st == 200 and [a["code"] for a in body["areas"]] == ["990001-PS01"], "the imported user sees their scope", body)
    st, body = srv.get("/api/v1/locate?lon=120.7&lat=31.5", token=tok)
    s.check(st == 200 and [a["code"] for a in body["areas"]] == ["990001-PS01"], "locate works on imported areas", body)

# --- serve refuses settings out of bounds, naming them
for args, flag in [(["--threads", "0"], "--threads"), (["--max-body", "12x"], "--max-body"),
                   (["--token-ttl", "-5"], "--token-ttl"), (["--listen", "localhost"], "--listen"),
                   (["--bogus", "1"], "--bogus")]:
    code, out, err = run_cli("serve", "--db", db2, *args, check=False)
    s.check(code == 2 and flag in err, "serve refuses %s naming it" % " ".join(args), err)

# --- audit verify detects an edited, a deleted and a truncated entry
code, out, _ = run_cli("audit", "verify", "--db", db2, check=False)
s.check(code == 0 and "intact" in out, "the audit chain is intact", out)
for what, sql in [("edited", "UPDATE audit SET actor='mallory' WHERE seq=1"),
                  ("deleted", "DELETE FROM audit WHERE seq=1"),
                  ("truncated", "DELETE FROM audit WHERE seq=(SELECT max(seq) FROM audit)")]:
    copy = os.path.join(tmp, "audit-%s.db" % what)
    src = sqlite3.connect(db2)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.execute(sql)
    dst.commit()
    dst.close()
    code, out, _ = run_cli("audit", "verify", "--db", copy, check=False)
    s.check(code == 1 and "BROKEN" in out, "audit verify detects a %s entry" % what, out)

s.done()
