"""harness.py — start the real safegrid server on a free loopback port with
a temporary store, talk HTTP to it, and count checks.

Each test file builds on this:

    from harness import Suite, Server
    s = Suite("areas")
    with Server.demo() as srv:
        tok = srv.login("admin", "safegrid-admin")
        st, body = srv.get("/api/v1/areas", token=tok)
        s.check(st == 200, "list answers 200")
    s.done()          # prints "<suite>: N passed, N failed" and exits

Only the Python standard library is used.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("SAFEGRID_BIN", os.path.join(os.path.dirname(__file__), "../../build/safegrid"))

# The demo store is built once per test run and copied for each server that
# needs it, so every suite starts from the same city without rebuilding it.
# tests/run-all.sh sets SAFEGRID_TEST_TMP for the whole run.
_TEST_TMP = os.environ.get("SAFEGRID_TEST_TMP") or tempfile.mkdtemp(prefix="safegrid-t-")
_DEMO_CACHE = os.path.join(_TEST_TMP, "demo.db")


class Suite:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=None):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            msg = "FAIL %s: %s" % (self.name, what)
            if detail is not None:
                msg += " -- %s" % (str(detail)[:600],)
            print(msg, flush=True)
        return cond

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, stdin=None, check=True):
    """Runs the safegrid binary; returns (exit code, stdout, stderr)."""
    p = subprocess.run([BIN] + list(args), input=stdin, capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise RuntimeError("safegrid %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return p.returncode, p.stdout, p.stderr


def demo_db(path):
    """Copies a demo store (built once) to path."""
    if not os.path.exists(_DEMO_CACHE):
        tmp = _DEMO_CACHE + ".tmp%d" % os.getpid()
        # The three years of history are for people and benchmarks; tests count from zero.
        run_cli("demo", "--db", tmp, "--no-history")
        os.replace(tmp, _DEMO_CACHE)
    shutil.copyfile(_DEMO_CACHE, path)


class Server:
    """A running `safegrid serve` on a free port with its own store."""

    def __init__(self, db, extra=()):
        self.db = db
        self.extra = list(extra)
        self.port = None
        self.proc = None

    @classmethod
    def demo(cls, extra=()):
        d = tempfile.mkdtemp(prefix="safegrid-it-")
        db = os.path.join(d, "store.db")
        demo_db(db)
        srv = cls(db, extra)
        srv._dir = d
        return srv

    def start(self):
        self.port = free_port()
        # Output goes to a file: a pipe nobody reads would stall a chatty server.
        self.log_path = self.db + ".log"
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:%d" % self.port] + self.extra,
            stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: %s" % open(self.log_path).read()[-2000:])
            try:
                st, _ = self.get("/healthz")
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        if self.proc:
            self.log.close()
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if getattr(self, "_dir", None):
            shutil.rmtree(self._dir, ignore_errors=True)

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
        """Returns (status, parsed JSON or text, response headers)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8")
        ctype = r.getheader("Content-Type", "")
        c.close()
        if "json" in ctype:
            try:
                return r.status, json.loads(text), dict(r.getheaders())
            except ValueError:
                return r.status, text, dict(r.getheaders())
        return r.status, text, dict(r.getheaders())

    def get(self, path, token=None):
        st, body, _ = self.request("GET", path, token=token)
        return st, body

    def post(self, path, body=None, token=None, raw=None):
        st, b, _ = self.request("POST", path, body=body, token=token, raw=raw)
        return st, b

    def patch(self, path, body=None, token=None, raw=None):
        st, b, _ = self.request("PATCH", path, body=body, token=token, raw=raw)
        return st, b

    def login(self, name, password):
        st, body = self.post("/api/v1/login", {"name": name, "password": password})
        if st != 200:
            raise RuntimeError("login %s failed: %s %s" % (name, st, body))
        return body["token"]


def metric(text, name):
    """The value of an unlabelled metric in a /metrics answer."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def syncs_between(before, after):
    """WAL fsyncs and store commands between two /metrics answers."""
    return (metric(after, "safegrid_store_syncs_total") - metric(before, "safegrid_store_syncs_total"),
            metric(after, "safegrid_store_commit_batch_size_sum") - metric(before, "safegrid_store_commit_batch_size_sum"))


def is_error(body, code=None, field=None):
    """True if body has the one error shape (and the given code/field)."""
    if not isinstance(body, dict) or set(body.keys()) != {"error"}:
        return False
    e = body["error"]
    if not isinstance(e, dict) or not isinstance(e.get("code"), str) or not isinstance(e.get("message"), str):
        return False
    if code is not None and e["code"] != code:
        return False
    if field is not None and e.get("field") != field:
        return False
    return True


class Stream:
    """A raw Server-Sent Events client: reads events as they come."""

    def __init__(self, port, token, last_id=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        hdr = "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n" % token
        if last_id is not None:
            hdr += "Last-Event-ID: %s\r\n" % last_id
        self.sock.sendall((hdr + "\r\n").encode())
        self.buf = b""
        self.status = None

    def events(self, want, timeout=3.0):
        out = []
        deadline = time.time() + timeout
        while len(out) < want and time.time() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.buf += chunk
            if self.status is None and b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                self.status = int(head.split(b" ")[1])
            # chunked transfer: strip chunk-size lines crudely by parsing SSE records only
            text = self.buf.decode("utf-8", "replace")
            while "\n\n" in text:
                rec, text = text.split("\n\n", 1)
                ev = {}
                for line in rec.split("\n"):
                    if line.startswith("id: "):
                        ev["id"] = int(line[4:])
                    elif line.startswith("event: "):
                        ev["event"] = line[7:]
                    elif line.startswith("data: "):
                        ev["data"] = json.loads(line[6:])
                if "event" in ev:
                    out.append(ev)
            self.buf = text.encode()
        return out

    def close(self):
        self.sock.close()
