#!/usr/bin/env python3
"""Node CPU per login: cold IAM logins through keygate-iam.so vs plain requirepass logins.

    python3 Module/tests/cpu_per_login.py [--module PATH] [--args "workers=2"] [--logins 2000]
                                          [--clients 8] [--rounds 5]

Starts a stand-in agent (a separate process answering `ALLOW 0 user:bench@example.com` to
every line at once, many lines per connection), one valkey-server with the module
(`requirepass`, `max-age-ms=0`, default log level) and one bare valkey-server (`requirepass`
only). Each round runs Benchmarks/loginbench.c (connect, AUTH, PING, close; CLIENTS at once)
for LOGINS distinct fresh tokens against the module node and LOGINS password logins against the
bare node, and reads utime+stime of each server from /proc/PID/stat before and after. Prints the
node CPU per login (µs) of every round and the medians. Every process started here is stopped.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CLUSTER = "projects/p/locations/us-central1/clusters/bench"
TCK = os.sysconf("SC_CLK_TCK")

AGENT = r'''
import asyncio, os, sys
async def serve(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(b"ALLOW 0 user:bench@example.com\n")
            if os.environ.get("ONE_SHOT"):
                break
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
async def main():
    srv = await asyncio.start_unix_server(serve, path=sys.argv[1], backlog=1024)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
'''


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("valkey-server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("valkey-server did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", default=os.path.join(HERE, "..", "keygate-iam.so"))
    ap.add_argument("--args", default="", help="extra module arguments, e.g. workers=1")
    ap.add_argument("--server", default=os.environ.get("VALKEY_SERVER", os.path.join(ROOT, ".deps/valkey/bin/valkey-server")))
    ap.add_argument("--logins", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--one-shot-agent", action="store_true", help="agent closes after each answer")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="kg-cpu-")
    procs = []
    try:
        bench = os.path.join(tmp, "loginbench")
        subprocess.run(["cc", "-O2", "-pthread", "-o", bench, os.path.join(ROOT, "Benchmarks", "loginbench.c")], check=True)
        sock = os.path.join(tmp, "agent.sock")
        env = dict(os.environ, ONE_SHOT="1" if a.one_shot_agent else "")
        procs.append(subprocess.Popen([sys.executable, "-c", AGENT, sock], env=env))
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        password = secrets.token_hex(16)
        nodes = {}
        for name, extra in (("iam", "loadmodule %s socket=%s cluster=%s max-age-ms=0 %s\n"
                             % (os.path.abspath(a.module), sock, CLUSTER, a.args)), ("bare", "")):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            port = free_port()
            conf = os.path.join(d, "valkey.conf")
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\nrequirepass %s\nsave \"\"\nappendonly no\ndir %s\nlogfile %s/log\n%s"
                        % (port, password, d, d, extra))
            p = subprocess.Popen([a.server, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port, p)
            nodes[name] = (port, p.pid)
        pwfile = os.path.join(tmp, "pw.tok")
        with open(pwfile, "w") as f:
            f.write((password + "\n") * a.logins)

        def run(name, tokfile, n=a.logins):
            port, pid = nodes[name]
            c0 = cpu_ticks(pid)
            out = subprocess.run([bench, "resp", str(port), tokfile, str(a.clients), "120", "once"],
                                 capture_output=True, text=True, check=True).stdout
            c1 = cpu_ticks(pid)
            r = json.loads(out)
            if r["fail"] or r["ok"] != n:
                raise RuntimeError("%s: %s" % (name, out))
            return (c1 - c0) / TCK / r["ok"] * 1e6, r

        # warm-up: fills connections/pools on both sides
        warm = os.path.join(tmp, "warm.tok")
        with open(warm, "w") as f:
            f.write("".join("warm-%s\n" % secrets.token_hex(16) for _ in range(200)))
        run("iam", warm, 200)
        run("bare", pwfile)
        res = {"iam": [], "bare": []}
        for rnd in range(a.rounds):
            tokfile = os.path.join(tmp, "cold-%d.tok" % rnd)
            with open(tokfile, "w") as f:
                f.write("".join("ya29.bench-%s\n" % secrets.token_hex(24) for _ in range(a.logins)))
            ci, ri = run("iam", tokfile)
            cb, rb = run("bare", pwfile)
            res["iam"].append(ci)
            res["bare"].append(cb)
            print("round %d: cold IAM %6.1f us/login (%5.0f logins/s, p50 %d us)   password %6.1f us/login "
                  "(%5.0f logins/s, p50 %d us)" % (rnd + 1, ci, ri["rate"], ri["p50_us"], cb, rb["rate"], rb["p50_us"]))
            sys.stdout.flush()
        mi, mb = statistics.median(res["iam"]), statistics.median(res["bare"])
        print("median: cold IAM %.1f us/login, password %.1f us/login, IAM extra %.1f us/login"
              % (mi, mb, mi - mb))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
