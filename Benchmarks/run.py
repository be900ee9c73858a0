#!/usr/bin/env python3
"""Keygate benchmark harness (`make bench`, issue #4).

Brings up everything it needs in a temporary directory (a local cloud with a 3-shard IAM cluster,
and an identical bare Valkey cluster with a plain ACL password), measures side by side in interleaved
rounds, prints one table and writes Benchmarks/results.json. Every process it starts is stopped on
exit, whatever happens.

    BIN=.build/debug python3 Benchmarks/run.py [--rounds N] [--quick] [--out FILE]

Rows (medians over rounds; ratio = median of the per-round keygate/reference ratios):
  1. data path: redis-benchmark --cluster SET/GET, pipeline 1 and 16, 50 clients (IAM vs ACL password)
  2. logins/s: connect, AUTH, PING, close against one node; warm (cached verdict) and cold (fresh token)
     vs ACL password, with p50/p99 login latency
  3. server CPU per login, from /proc/PID/stat (utime+stime) of the node (and of keygated, for cold)
  4. token endpoint: refresh-token and JWT-bearer grants/s; auth agent verifications/s
  5. control plane: seconds from `create` to ACTIVE for 3x0, 3x1, 16x1
  6. memory: keygated RSS idle and with 10 clusters; Valkey node RSS with and without the module
"""
import argparse
import base64
import http.client
import json
import multiprocessing as mp
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = "us-central1"
PROJECT = "keygate-local"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
NODE_TYPE = "redis-shared-core-nano"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- /proc helpers

def proc_cpu_ticks(pid):
    """utime+stime of a process (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def pid_of_node(port):
    """The valkey-server whose process title is `valkey-server 127.0.0.1:PORT [cluster]`."""
    want = f"127.0.0.1:{port}"
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "valkey-server" in cmd and want in cmd.split():
            return int(d)
    return None


def pids_with_cwd_under(path):
    """valkey-server processes whose working directory lies under `path` (ours, by construction)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{d}/cwd")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"valkey-server" in cmd and (cwd == path or cwd.startswith(path + "/")):
            out.append(int(d))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- RESP (tiny)

def resp_command(port, *args, password=None, timeout=5.0):
    """Sends commands on one connection (AUTH first if given); returns the last reply, parsed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")

    def send(*a):
        out = b"*%d\r\n" % len(a)
        for x in a:
            x = x if isinstance(x, bytes) else str(x).encode()
            out += b"$%d\r\n%s\r\n" % (len(x), x)
        s.sendall(out)
        return read()

    def read():
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b":"):
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            d = f.read(n + 2)[:-2]
            return d.decode(errors="replace")
        if t in (b"*", b"%"):
            n = int(rest)
            if n < 0:
                return None
            return [read() for _ in range(n * (2 if t == b"%" else 1))]
        if t == b"_":
            return None
        raise RuntimeError(f"unexpected reply {line!r}")

    try:
        if password is not None:
            send("AUTH", password)
        return send(*args)
    finally:
        s.close()


def shard_master_ports(port, password):
    shards = resp_command(port, "CLUSTER", "SHARDS", password=password)
    masters, replicas = [], []
    for sh in shards:
        d = dict(zip(sh[::2], sh[1::2]))
        for node in d["nodes"]:
            nd = dict(zip(node[::2], node[1::2]))
            (masters if nd["role"] == "master" else replicas).append(int(nd["port"]))
    return sorted(masters), sorted(replicas)


# ---------------------------------------------------------------- HTTP load (processes, keep-alive)

def _http_worker(conn, barrier, host, port, path, bodies, want_tokens):
    c = http.client.HTTPConnection(host, port, timeout=60)
    c.connect()
    barrier.wait()
    t0 = time.time()
    toks, ok, fails, err = [], 0, 0, ""
    for b in bodies:
        try:
            c.request("POST", path, b, {"Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            d = r.read()
            if r.status == 200:
                ok += 1
                if want_tokens:
                    toks.append(json.loads(d)["access_token"])
            else:
                fails += 1
                err = err or f"HTTP {r.status}: {d[:200]!r}"
        except Exception as e:  # noqa: BLE001 - record and go on
            fails += 1
            err = err or repr(e)
            c.close()
            c = http.client.HTTPConnection(host, port, timeout=60)
    t1 = time.time()
    conn.send((t0, t1, ok, fails, err, toks))
    conn.close()


def http_burst(endpoint, path, bodies, procs, want_tokens=False):
    """POSTs every body once from `procs` keep-alive clients; returns rate and results."""
    u = urllib.parse.urlparse(endpoint)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    chunks = [bodies[i::procs] for i in range(procs)]
    workers = []
    for ch in chunks:
        a, b = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_http_worker, args=(b, barrier, u.hostname, u.port, path, ch, want_tokens),
                        daemon=True)
        p.start()
        workers.append((p, a))
    barrier.wait(timeout=60)
    results = [a.recv() for _, a in workers]
    for p, _ in workers:
        p.join()
    t0 = min(r[0] for r in results)
    t1 = max(r[1] for r in results)
    ok = sum(r[2] for r in results)
    fails = sum(r[3] for r in results)
    err = next((r[4] for r in results if r[4]), "")
    toks = [t for r in results for t in r[5]]
    return {"ok": ok, "fail": fails, "elapsed": t1 - t0, "rate": ok / (t1 - t0) if t1 > t0 else 0.0,
            "error": err, "tokens": toks}


# ---------------------------------------------------------------- JWT-bearer assertions

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# Signs N RS256 assertions for a service-account key file (Google's JWT-bearer grant); one per line.
SIGN_SCRIPT = r"""
import base64, json, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = json.load(open(sys.argv[1]))
pk = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]}).encode())
now = int(time.time())
for i in range(int(sys.argv[2])):
    iat = now - (i % 30)  # distinct assertions
    claims = {"iss": key["client_email"], "aud": key["token_uri"],
              "scope": "https://www.googleapis.com/auth/cloud-platform", "iat": iat, "exp": iat + 3600}
    si = header + "." + b64(json.dumps(claims, separators=(",", ":")).encode())
    print(si + "." + b64(pk.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256())))
"""


def sign_assertions(keyfile, n, tmp):
    """RS256 assertions with python `cryptography` (system or .deps/venv), else the openssl CLI."""
    for py in (sys.executable, os.path.join(ROOT, ".deps", "venv", "bin", "python")):
        if os.access(py, os.X_OK) and subprocess.run([py, "-c", "import cryptography"],
                                                     capture_output=True).returncode == 0:
            r = subprocess.run([py, "-c", SIGN_SCRIPT, keyfile, str(n)], capture_output=True, text=True, check=True)
            return r.stdout.split()
    if not shutil.which("openssl"):
        raise RuntimeError("cannot sign JWT assertions: neither python cryptography nor openssl")
    with open(keyfile) as f:
        key = json.load(f)
    pem = os.path.join(tmp, "sa-key.pem")
    with open(os.open(pem, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(key["private_key"])
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]}).encode())
    out, now = [], int(time.time())
    for i in range(n):
        iat = now - (i % 30)
        claims = {"iss": key["client_email"], "aud": key["token_uri"],
                  "scope": "https://www.googleapis.com/auth/cloud-platform", "iat": iat, "exp": iat + 3600}
        si = header + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", pem], input=si.encode(),
                             capture_output=True, check=True).stdout
        out.append(si + "." + b64url(sig))
    return out


# ---------------------------------------------------------------- the harness

class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(os.path.join(ROOT, args.bin))
        self.keygate = os.path.join(self.bin, "keygate")
        self.keygated = os.path.join(self.bin, "keygated")
        self.valkey = args.valkey_server
        self.tmp = tempfile.mkdtemp(prefix="keygate-bench-")
        self.home = os.path.join(self.tmp, "kg")
        os.makedirs(self.home, mode=0o700)
        self.env = dict(os.environ, KEYGATE_HOME=self.home)
        self.bare_procs = []
        self.kg_up = False
        self.raw = {}
        self.rows = []
        self.meta = {}

    # ---- lifecycle

    def cleanup(self):
        if self.kg_up:
            try:
                subprocess.run([self.keygate, "down"], env=self.env, timeout=60,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except Exception as e:  # noqa: BLE001
                log(f"keygate down failed: {e!r}")
            try:
                with open(os.path.join(self.home, "keygated.json")) as f:
                    pid = json.load(f)["pid"]
                for _ in range(50):
                    if not pid_alive(pid):
                        break
                    time.sleep(0.1)
                else:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, KeyError):
                pass
        for p in self.bare_procs:
            if p.poll() is None:
                p.terminate()
        for p in self.bare_procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # Anything left whose working directory is ours (nodes keygated could not stop): by PID.
        for pid in pids_with_cwd_under(self.tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kg(self, *a, check=True, timeout=300):
        r = subprocess.run([self.keygate, *a], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"keygate {' '.join(a)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        return r.stdout.strip()

    def create_cluster(self, cid, shards, replicas, wait=True):
        a = ["redis", "clusters", "create", cid, f"--region={REGION}", f"--shard-count={shards}",
             f"--replica-count={replicas}", f"--node-type={NODE_TYPE}", "--auth-mode=iam-auth"]
        if not wait:
            a.append("--async")
        t0 = time.monotonic()
        self.kg(*a)
        return time.monotonic() - t0

    def describe(self, cid, field):
        return self.kg("redis", "clusters", "describe", cid, f"--region={REGION}", f"--format=value({field})")

    def delete_cluster(self, cid):
        self.kg("redis", "clusters", "delete", cid, f"--region={REGION}")

    # ---- setup

    def start_keygate(self):
        self.kg_up = True  # from here on, cleanup runs `keygate down`
        self.kg("up", "--port", "0", "--propagation-interval", str(self.args.propagation_interval),
                "--iam-check-rate", str(self.args.iam_check_rate), timeout=120)
        with open(os.path.join(self.home, "keygated.json")) as f:
            d = json.load(f)
        self.endpoint, self.keygated_pid = d["endpoint"], d["pid"]
        time.sleep(1.0)
        self.keygated_rss_idle = proc_rss_bytes(self.keygated_pid)
        with open(os.path.join(self.home, "owner-credentials.json")) as f:
            self.refresh_token = json.load(f)["refresh_token"]
        self.cluster_name = f"projects/{PROJECT}/locations/{REGION}/clusters/bench"
        log(f"keygated up at {self.endpoint} (pid {self.keygated_pid}); creating the 3-shard IAM cluster")
        self.create_secs_bench = self.create_cluster("bench", 3, 0)
        self.token = self.kg("auth", "print-access-token")
        disc = int(self.describe("bench", "discoveryEndpoints[0].port"))
        self.kg_masters, _ = shard_master_ports(disc, self.token)
        self.kg_node = self.kg_masters[0]
        self.kg_node_pid = pid_of_node(self.kg_node)
        if not self.kg_node_pid:
            raise RuntimeError(f"no valkey-server process titled 127.0.0.1:{self.kg_node}")

    def start_bare(self):
        """Three bare Valkey nodes with keygate's node configuration minus the module, plain ACL password."""
        confs = sorted(os.path.join(dp, "valkey.conf") for dp, _, fs in os.walk(os.path.join(self.home, "clusters"))
                       if "valkey.conf" in fs)
        with open(confs[0]) as f:
            template = f.read()
        drop = ("port ", "cluster-port ", "dir ", "requirepass ", "loadmodule ", "user ", "masteruser ",
                "masterauth ", "cluster-config-file ", "logfile ", "#")
        kept = [ln for ln in template.splitlines() if ln.strip() and not ln.startswith(drop)]
        # A password as long as the IAM token, so both AUTHs carry the same bytes.
        self.bare_password = secrets.token_hex(len(self.token) // 2 + 1)[: len(self.token)]
        self.bare_ports = []
        for i in range(3):
            port, bus = free_port(), free_port()
            d = os.path.join(self.tmp, f"bare-{i}")
            os.makedirs(d)
            conf = os.path.join(d, "valkey.conf")
            with open(conf, "w") as f:
                f.write("\n".join([f"port {port}", f"cluster-port {bus}", f'dir "{d}"', *kept,
                                   "cluster-config-file nodes.conf", f'logfile "{d}/valkey.log"',
                                   f"requirepass {self.bare_password}", f"masterauth {self.bare_password}", ""]))
            os.chmod(conf, 0o600)
            self.bare_procs.append(subprocess.Popen([self.valkey, conf], cwd=d, stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.DEVNULL, start_new_session=True))
            self.bare_ports.append(port)
        env = dict(os.environ, REDISCLI_AUTH=self.bare_password)
        for port in self.bare_ports:
            self.wait_ping(port, self.bare_password)
        r = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.bare_ports],
                            "--cluster-replicas", "0", "--cluster-yes"], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {r.stdout[-1500:]} {r.stderr[-500:]}")
        deadline = time.monotonic() + 60
        for port in self.bare_ports:
            while "cluster_state:ok" not in resp_command(port, "CLUSTER", "INFO", password=self.bare_password):
                if time.monotonic() > deadline:
                    raise RuntimeError("bare cluster never reached cluster_state:ok")
                time.sleep(0.1)
        self.bare_node = self.bare_ports[0]
        self.bare_node_pid = self.bare_procs[0].pid
        log(f"bare cluster up on ports {self.bare_ports}")

    def wait_ping(self, port, password, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if resp_command(port, "PING", password=password, timeout=1) == "PONG":
                    return
            except (OSError, RuntimeError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"node 127.0.0.1:{port} never answered")
            time.sleep(0.05)

    def build_loginbench(self):
        exe = os.path.join(self.tmp, "loginbench")
        src = os.path.join(ROOT, "Benchmarks", "loginbench.c")
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-pthread", "-o", exe, src], check=True)
        self.loginbench = exe

    # ---- 6 (part). node memory, fresh and idle

    def measure_node_rss(self):
        kg = [proc_rss_bytes(pid_of_node(p)) for p in self.kg_masters]
        bare = [proc_rss_bytes(p.pid) for p in self.bare_procs]
        self.raw["node_rss_idle"] = {"keygate": kg, "bare": bare}
        self.add_row("6 memory", "Valkey node RSS idle, fresh (MiB)", median(kg) / 2**20, median(bare) / 2**20,
                     kg_rounds=[x / 2**20 for x in kg], ref_rounds=[x / 2**20 for x in bare], paired=False,
                     note="median of the 3 masters; keygate = with keygate-iam.so")

    # ---- 1. data path

    def redis_benchmark(self, port, password, pipeline, n):
        cmd = ["redis-benchmark", "--cluster", "-h", "127.0.0.1", "-p", str(port), "-a", password,
               "-t", "set,get", "-P", str(pipeline), "-c", "50", "-n", str(n), "--csv"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        out = {}
        for ln in r.stdout.splitlines():
            m = re.match(r'^"(SET|GET)","([0-9.]+)","([0-9.]+)","([0-9.]+)","([0-9.]+)","([0-9.]+)","([0-9.]+)"', ln)
            if m:
                out[m.group(1)] = {"rps": float(m.group(2)), "p50_ms": float(m.group(5)),
                                   "p99_ms": float(m.group(7))}
        if set(out) != {"SET", "GET"}:
            raise RuntimeError(f"redis-benchmark gave no SET/GET numbers (rc {r.returncode}): "
                               f"{r.stdout[-800:]} {r.stderr[-800:]}")
        return out

    def bench_data_path(self):
        rounds = self.args.rounds
        n = {1: self.args.requests, 16: self.args.requests * 4}
        systems = {"keygate": (self.kg_node, self.token), "bare": (self.bare_node, self.bare_password)}
        log("data path: warm-up")
        for port, pw in systems.values():  # the first run after a pause is an outlier on this kind of VM
            for p in n:
                self.redis_benchmark(port, pw, p, n[p] // 4)
        res = {(s, p, t): [] for s in systems for p in n for t in ("SET", "GET")}
        for r in range(rounds):
            order = ["keygate", "bare"] if r % 2 == 0 else ["bare", "keygate"]
            for p in n:
                for s in order:
                    out = self.redis_benchmark(*systems[s], p, n[p])
                    for t in ("SET", "GET"):
                        res[(s, p, t)].append(out[t]["rps"])
            log(f"data path round {r + 1}/{rounds}: " + ", ".join(
                f"{t} P{p} {res[('keygate', p, t)][-1] / res[('bare', p, t)][-1]:.3f}" for p in n for t in ("SET", "GET")))
        self.raw["data_path"] = {f"{s} P{p} {t}": v for (s, p, t), v in res.items()}
        for p in n:
            for t in ("SET", "GET"):
                self.add_row("1 data path", f"{t} -P {p} -c 50 (ops/s)", None, None,
                             kg_rounds=res[("keygate", p, t)], ref_rounds=res[("bare", p, t)],
                             target=0.97, note=f"-n {n[p]}")

    # ---- 4 (part) + cold tokens: token endpoint, refresh grant

    def mint_tokens(self):
        rounds, per = self.args.rounds, self.args.cold_tokens
        body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        self.cold_tokens, rates, cpu = [], [], []
        for r in range(rounds):
            c0 = proc_cpu_ticks(self.keygated_pid)
            out = http_burst(self.endpoint, "/token", [body] * per, self.args.http_clients, want_tokens=True)
            c1 = proc_cpu_ticks(self.keygated_pid)
            if out["fail"]:
                raise RuntimeError(f"token endpoint refused {out['fail']} refresh grants: {out['error']}")
            self.cold_tokens.append(out["tokens"])
            rates.append(out["rate"])
            cpu.append((c1 - c0) / CLK_TCK / out["ok"] * 1e6)
            log(f"token endpoint round {r + 1}/{rounds}: {out['rate']:.0f} refresh grants/s")
        distinct = len({t for ts in self.cold_tokens for t in ts})
        if distinct != rounds * per:
            raise RuntimeError(f"minted tokens are not distinct ({distinct} of {rounds * per})")
        self.raw["refresh_grant"] = {"rate": rates, "keygated_cpu_us": cpu}
        self.add_row("4 token endpoint", "refresh-token grants/s", None, None, kg_rounds=rates,
                     note=f"{self.args.http_clients} keep-alive clients, {per}/round")
        self.add_row("4 token endpoint", "  keygated CPU per refresh grant (us)", None, None, kg_rounds=cpu)

    def bench_jwt_bearer(self):
        self.kg("iam", "service-accounts", "create", "bench-sa")
        keyfile = os.path.join(self.tmp, "bench-sa.json")
        self.kg("iam", "service-accounts", "keys", "create", keyfile,
                f"--iam-account=bench-sa@{PROJECT}.iam.gserviceaccount.com")
        n = self.args.jwt_requests
        log(f"signing {n} RS256 assertions")
        bodies = [urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                          "assertion": a}) for a in sign_assertions(keyfile, n, self.tmp)]
        rates, cpu = [], []
        for r in range(self.args.rounds):
            c0 = proc_cpu_ticks(self.keygated_pid)
            out = http_burst(self.endpoint, "/token", bodies, self.args.http_clients)
            c1 = proc_cpu_ticks(self.keygated_pid)
            if out["fail"]:
                raise RuntimeError(f"token endpoint refused {out['fail']} JWT-bearer grants: {out['error']}")
            rates.append(out["rate"])
            cpu.append((c1 - c0) / CLK_TCK / out["ok"] * 1e6)
            log(f"JWT-bearer round {r + 1}/{self.args.rounds}: {out['rate']:.0f} exchanges/s")
        self.raw["jwt_bearer"] = {"rate": rates, "keygated_cpu_us": cpu}
        self.add_row("4 token endpoint", "JWT-bearer exchanges/s", None, None, kg_rounds=rates,
                     note=f"RS256, {n}/round")
        self.add_row("4 token endpoint", "  keygated CPU per JWT-bearer exchange (us)", None, None, kg_rounds=cpu)

    def bench_agent(self):
        """The auth agent alone, on agent.sock: fresh tokens (each pays the Ed25519 check) and one
        repeated token (answered from the agent's verified-token memory, as a cluster client's
        logins to its second and later nodes are)."""
        sock = os.path.join(self.home, "agent.sock")
        body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        warm_file = os.path.join(self.tmp, "warm.tok")
        with open(warm_file, "w") as f:
            f.write(self.token + "\n")
        for label, fresh in (("fresh tokens", True), ("repeated token", False)):
            rates, cpu, p50 = [], [], []
            for r in range(self.args.rounds):
                tokfile = warm_file
                extra = []
                if fresh:
                    out = http_burst(self.endpoint, "/token", [body] * self.args.cold_tokens, self.args.http_clients, want_tokens=True)
                    tokfile = os.path.join(self.tmp, f"agent-{r}.tok")
                    with open(tokfile, "w") as f:
                        f.write("\n".join(out["tokens"]) + "\n")
                    extra = ["once"]
                c0 = proc_cpu_ticks(self.keygated_pid)
                out = self.run_loginbench(["agent", sock, tokfile, str(self.args.threads), str(self.args.seconds),
                                           *extra, self.cluster_name])
                c1 = proc_cpu_ticks(self.keygated_pid)
                rates.append(out["rate"])
                cpu.append((c1 - c0) / CLK_TCK / max(out["ok"], 1) * 1e6)
                p50.append(out["p50_us"])
            self.raw[f"agent {label}"] = {"rate": rates, "keygated_cpu_us": cpu, "p50_us": p50}
            self.add_row("4 token endpoint", f"auth agent answers/s, {label}", None, None, kg_rounds=rates,
                         note=f"{self.args.threads} clients on agent.sock, a connection per request")
            self.add_row("4 token endpoint", f"  keygated CPU per answer, {label} (us)", None, None, kg_rounds=cpu)

    # ---- 2 + 3. logins

    def run_loginbench(self, a):
        r = subprocess.run([self.loginbench, *a], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"loginbench failed: {r.stderr}")
        out = json.loads(r.stdout)
        if out["fail"]:
            log(f"loginbench {a[0]}: {out['fail']} failures, first: {out['first_error']}")
        if not out["ok"]:
            raise RuntimeError(f"loginbench {' '.join(a[:2])} made no successful login: {out['first_error']}")
        return out

    def bench_logins(self):
        rounds, threads, secs = self.args.rounds, str(self.args.threads), str(self.args.seconds)
        warm = os.path.join(self.tmp, "warm.tok")
        bare = os.path.join(self.tmp, "bare.tok")
        with open(warm, "w") as f:
            f.write(self.token + "\n")
        with open(bare, "w") as f:
            f.write(self.bare_password + "\n")
        cold = []
        for r in range(rounds):
            path = os.path.join(self.tmp, f"cold-{r}.tok")
            with open(path, "w") as f:
                f.write("\n".join(self.cold_tokens[r]) + "\n")
            cold.append(path)
        paths = {
            "bare": lambda r: ["resp", str(self.bare_node), bare, threads, secs],
            "warm": lambda r: ["resp", str(self.kg_node), warm, threads, secs],
            "cold": lambda r: ["resp", str(self.kg_node), cold[r], threads, str(self.args.seconds * 5), "once"],
        }
        pid = {"bare": self.bare_node_pid, "warm": self.kg_node_pid, "cold": self.kg_node_pid}
        # warm-up (also caches the warm token's verdict on the node)
        self.run_loginbench(["resp", str(self.bare_node), bare, threads, "0.5"])
        self.run_loginbench(["resp", str(self.kg_node), warm, threads, "0.5"])
        res = {k: {"rate": [], "p50_us": [], "p99_us": [], "cpu_us": [], "keygated_cpu_us": [], "ok": [],
                   "fail": []} for k in paths}
        names = list(paths)
        for r in range(rounds):
            order = names[r % 3:] + names[: r % 3]
            for k in order:
                c0, a0 = proc_cpu_ticks(pid[k]), proc_cpu_ticks(self.keygated_pid)
                out = self.run_loginbench(paths[k](r))
                c1, a1 = proc_cpu_ticks(pid[k]), proc_cpu_ticks(self.keygated_pid)
                d = res[k]
                for x in ("rate", "p50_us", "p99_us", "ok", "fail"):
                    d[x].append(out[x])
                d["cpu_us"].append((c1 - c0) / CLK_TCK / out["ok"] * 1e6)
                d["keygated_cpu_us"].append((a1 - a0) / CLK_TCK / out["ok"] * 1e6)
            log(f"logins round {r + 1}/{rounds}: bare {res['bare']['rate'][-1]:.0f}/s, "
                f"warm {res['warm']['rate'][-1]:.0f}/s, cold {res['cold']['rate'][-1]:.0f}/s")
        self.raw["logins"] = res
        b = res["bare"]
        self.add_row("2 logins", "logins/s warm (IAM, cached) vs ACL", None, None, kg_rounds=res["warm"]["rate"],
                     ref_rounds=b["rate"], target=0.9, note=f"{threads} clients, {secs} s/round")
        self.add_row("2 logins", "logins/s cold (IAM, new token) vs ACL", None, None, kg_rounds=res["cold"]["rate"],
                     ref_rounds=b["rate"], target=0.6, note=f"{self.args.cold_tokens} fresh tokens/round")
        for k in ("warm", "cold"):
            for q in ("p50", "p99"):
                self.add_row("2 logins", f"login latency {q} {k} (us)", None, None, kg_rounds=res[k][f"{q}_us"],
                             ref_rounds=b[f"{q}_us"], lower_is_better=True)
        for k in ("warm", "cold"):
            self.add_row("3 CPU/login", f"node CPU per login {k} (us)", None, None, kg_rounds=res[k]["cpu_us"],
                         ref_rounds=b["cpu_us"], lower_is_better=True, note="utime+stime of the node")
        self.add_row("3 CPU/login", "  keygated CPU per cold login (us)", None, None,
                     kg_rounds=res["cold"]["keygated_cpu_us"], note="auth agent side")

    # ---- 5. control plane

    def bench_control_plane(self):
        shapes = [("3x0", 3, 0, 5.0), ("3x1", 3, 1, 5.0), ("16x1", 16, 1, 30.0)]
        res = {s[0]: [] for s in shapes}
        for r in range(self.args.cp_rounds):
            order = shapes if r % 2 == 0 else list(reversed(shapes))
            made = []
            for name, sh, rep, _ in order:
                cid = f"cp-{name}-{r}"
                res[name].append(self.create_cluster(cid, sh, rep))
                made.append(cid)
                # The CLI returned: the cluster must be ACTIVE with every node in CLUSTER SHARDS.
                state = self.describe(cid, "state")
                masters, replicas = shard_master_ports(int(self.describe(cid, "discoveryEndpoints[0].port")),
                                                       self.token)
                if state != "ACTIVE" or (len(masters), len(replicas)) != (sh, sh * rep):
                    raise RuntimeError(f"{cid}: create returned with state {state}, "
                                       f"{len(masters)} primaries and {len(replicas)} replicas")
            log("control plane round %d/%d: %s" % (r + 1, self.args.cp_rounds,
                                                   ", ".join(f"{n} {res[n][-1]:.2f}s" for n, *_ in shapes)))
            for cid in made:
                self.delete_cluster(cid)
        self.raw["create_seconds"] = res
        for name, sh, rep, tgt in shapes:
            self.add_row("5 control plane", f"create -> ACTIVE {name} (s)", None, None, kg_rounds=res[name],
                         target=tgt, target_kind="max", note=f"{sh * (1 + rep)} nodes")

    # ---- 6. memory with 10 clusters

    def bench_memory(self):
        ids = [f"mem-{i}" for i in range(9)]
        for cid in ids:
            self.create_cluster(cid, 3, 0, wait=False)
        deadline = time.monotonic() + 300
        for cid in ids:
            while self.describe(cid, "state") != "ACTIVE":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster {cid} never became ACTIVE")
                time.sleep(0.5)
        time.sleep(2.0)
        rss10 = proc_rss_bytes(self.keygated_pid)
        self.raw["keygated_rss"] = {"idle": self.keygated_rss_idle, "ten_clusters": rss10}
        self.add_row("6 memory", "keygated RSS idle (MiB)", None, None, kg_rounds=[self.keygated_rss_idle / 2**20],
                     note="right after `keygate up`")
        self.add_row("6 memory", "keygated RSS with 10 clusters (MiB)", None, None, kg_rounds=[rss10 / 2**20],
                     note="10 x 3-shard IAM clusters, after the load above")

    # ---- table

    def add_row(self, section, metric, kg, ref, kg_rounds=None, ref_rounds=None, target=None, target_kind="min",
                lower_is_better=False, paired=True, note=""):
        kg = median(kg_rounds) if kg is None and kg_rounds else kg
        ref = median(ref_rounds) if ref is None and ref_rounds else ref
        ratios = None
        ratio = None
        if ref_rounds and kg_rounds:
            if paired and len(ref_rounds) == len(kg_rounds):
                ratios = [a / b if b else None for a, b in zip(kg_rounds, ref_rounds)]
                ratio = median(ratios)
            elif ref:
                ratio = kg / ref
        met = None
        if target is not None:
            if target_kind == "min":  # a ratio target
                met = ratio is not None and ratio >= target
            else:  # an absolute upper bound on the keygate value
                met = kg is not None and kg < target
        self.rows.append({"section": section, "metric": metric, "keygate": kg, "reference": ref, "ratio": ratio,
                          "target": target, "target_kind": target_kind, "met": met,
                          "lower_is_better": lower_is_better, "note": note,
                          "rounds": {"keygate": kg_rounds, "reference": ref_rounds, "ratio": ratios}})

    def render(self):
        def num(x):
            if x is None:
                return ""
            if abs(x) >= 1000:
                return f"{x:,.0f}"
            if abs(x) >= 100:
                return f"{x:.0f}"
            if abs(x) >= 10:
                return f"{x:.1f}"
            return f"{x:.2f}"

        def tgt(row):
            t = row["target"]
            if t is None:
                return ""
            return f">= {t:g}x" if row["target_kind"] == "min" else f"< {t:g} s"

        def rounds(row):
            rr = row["rounds"]
            xs = rr["ratio"] if rr["ratio"] else rr["keygate"]
            if not xs or len(xs) < 2:
                return ""
            return " ".join(f"{x:.2f}" if rr["ratio"] else num(x) for x in xs)

        hdr = ["metric", "keygate", "bare/ref", "ratio", "target", "met?", "per round (ratio, or keygate value)"]
        lines, section = [], None
        body = []
        for row in self.rows:
            if row["section"] != section:
                section = row["section"]
                body.append(None)
                body.append([f"[{section}]", "", "", "", "", "", ""])
            met = "" if row["met"] is None else ("yes" if row["met"] else "NO")
            body.append([row["metric"], num(row["keygate"]), num(row["reference"]),
                         "" if row["ratio"] is None else f"{row['ratio']:.3f}", tgt(row), met, rounds(row)])
        w = [max(len(hdr[i]), *(len(b[i]) for b in body if b)) for i in range(len(hdr))]
        align = ["<", ">", ">", ">", "<", "<", "<"]

        def fmt(cells):
            return " | ".join(f"{c:{a}{wi}}" for c, a, wi in zip(cells, align, w)).rstrip()

        lines.append(fmt(hdr))
        lines.append("-+-".join("-" * x for x in w))
        for b in body:
            if b is None:
                continue
            lines.append(fmt(b))
        return "\n".join(lines)

    # ---- main

    def run(self):
        t_start = time.monotonic()
        a = self.args
        for path in (self.keygate, self.keygated):
            if not os.access(path, os.X_OK):
                raise SystemExit(f"bench: {path} is missing; build it (make bench builds .build/release) or set BIN")
        for tool in ("redis-benchmark", "redis-cli"):
            if not shutil.which(tool):
                raise SystemExit(f"bench: {tool} not on PATH (./scripts/deps installs redis-tools)")
        self.meta = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(), "cpus": os.cpu_count(),
            "kernel": platform.release(), "bin": os.path.relpath(self.bin, ROOT),
            "valkey_server": subprocess.run([self.valkey, "--version"], capture_output=True, text=True).stdout.strip(),
            "redis_benchmark": subprocess.run(["redis-benchmark", "--version"], capture_output=True,
                                              text=True).stdout.strip(),
            "loadavg_before": os.getloadavg(), "rounds": a.rounds, "propagation_interval_s": a.propagation_interval,
            "iam_check_rate": a.iam_check_rate, "login_clients": a.threads, "login_seconds": a.seconds,
            "cold_tokens_per_round": a.cold_tokens,
        }
        phases = self.meta["phases"] = []
        for step in (self.build_loginbench, self.start_keygate, self.start_bare, self.measure_node_rss,
                     self.bench_data_path, self.mint_tokens, self.bench_logins, self.bench_jwt_bearer,
                     self.bench_agent, self.bench_control_plane, self.bench_memory):
            t0 = time.monotonic()
            step()
            # Other load on the machine shows here (the 1-minute load average after each phase).
            phases.append({"phase": step.__name__, "seconds": round(time.monotonic() - t0, 2),
                           "loadavg_1m": os.getloadavg()[0]})
        self.meta["loadavg_after"] = os.getloadavg()
        self.meta["duration_s"] = round(time.monotonic() - t_start, 1)
        # The memory rows belong together in the table.
        order = ["1 data path", "2 logins", "3 CPU/login", "4 token endpoint", "5 control plane", "6 memory"]
        self.rows.sort(key=lambda r: order.index(r["section"]))
        table = self.render()
        print(table)
        print(f"\n{len(self.rows)} rows; ratio = median of per-round keygate/bare ratios over {a.rounds} interleaved "
              f"rounds ({a.cp_rounds} for the control plane); values are medians. bin={self.meta['bin']}, "
              f"{self.meta['cpus']} CPUs, load {self.meta['loadavg_before'][0]:.2f} -> "
              f"{self.meta['loadavg_after'][0]:.2f}, {self.meta['duration_s']:.0f} s.")
        missed = [r["metric"].strip() for r in self.rows if r["met"] is False]
        print("targets missed: " + (", ".join(missed) if missed else "none"))
        with open(a.out, "w") as f:
            json.dump({"meta": self.meta, "rows": self.rows, "raw": self.raw, "table": table.splitlines()}, f,
                      indent=2, default=str)
            f.write("\n")
        print(f"wrote {os.path.relpath(a.out, os.getcwd())}")


def main():
    default_valkey = os.path.join(ROOT, ".deps", "valkey", "bin", "valkey-server")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.environ.get("BIN", ".build/release"),
                   help="directory with keygate and keygated (env BIN; default .build/release)")
    p.add_argument("--valkey-server", default=os.environ.get("KEYGATE_VALKEY_SERVER") or
                   (default_valkey if os.path.exists(default_valkey) else shutil.which("valkey-server")))
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per comparison")
    p.add_argument("--cp-rounds", type=int, default=3, help="rounds of cluster creation")
    p.add_argument("--requests", type=int, default=100_000, help="redis-benchmark -n at pipeline 1 (x4 at 16)")
    p.add_argument("--threads", type=int, default=4, help="concurrent login clients")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per warm/ACL login measurement")
    p.add_argument("--cold-tokens", type=int, default=5000, help="fresh tokens per cold round")
    p.add_argument("--jwt-requests", type=int, default=1000, help="JWT-bearer exchanges per round")
    p.add_argument("--http-clients", type=int, default=4, help="concurrent token-endpoint clients (processes)")
    p.add_argument("--propagation-interval", type=int, default=3600,
                   help="keygate up --propagation-interval (long, so the warm verdict stays cached)")
    p.add_argument("--iam-check-rate", type=int, default=1_000_000_000,
                   help="keygate up --iam-check-rate (high: measure capacity, not the throttle)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 rounds, small counts")
    p.add_argument("--out", default=os.path.join(ROOT, "Benchmarks", "results.json"))
    a = p.parse_args()
    if a.quick:
        a.rounds, a.cp_rounds, a.requests, a.seconds = 2, 1, 20_000, 0.5
        a.cold_tokens, a.jwt_requests = 500, 200
    if not a.valkey_server:
        raise SystemExit("bench: no valkey-server (run ./scripts/deps)")

    b = Bench(a)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        b.run()
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        log("stopping everything")
        b.cleanup()


if __name__ == "__main__":
    main()
