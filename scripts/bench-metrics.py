#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-metrics.py: what a scrape of `lruleak metrics` costs.

Usage: scripts/bench-metrics.py [--agents 1,10,50] [--scrapes 20] [--python PY]
(after scripts/build.sh; figures in scripts/README.md "What a scrape costs").

For each number of agents N: start N victims (tests/scenarios/
metrics_victim.py, 10 leaked objects each) under the built agent in a
private socket directory, then time `lruleak metrics` printed once and a
GET /metrics from `lruleak metrics --listen` (median and max over the
scrapes), and give the exposition's size and the exporter's peak RSS.
A benchmark, not a test: nothing is asserted.
"""
import argparse
import os
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
CLI = os.path.join(ROOT, "build", "cli", "lruleak")
AGENT = os.path.join(ROOT, "build", "agent", "liblruleak.so")
VICTIM = os.path.join(ROOT, "tests", "scenarios", "metrics_victim.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", default="1,10,50")
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    args = ap.parse_args()
    print("%6s %14s %14s %14s %14s %10s %10s" % (
        "agents", "once median", "once max", "http median", "http max", "bytes", "rss KiB"))
    for n in [int(x) for x in args.agents.split(",")]:
        sock = tempfile.mkdtemp(prefix="lruleak-bench-")
        env = dict(os.environ, LRULEAK_DIR=sock, LRULEAK_INTERVAL="1")
        venv = dict(env, LD_PRELOAD=AGENT)
        victims = [subprocess.Popen([args.python, VICTIM, "--count", "10"], env=venv,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                   for _ in range(n)]
        try:
            for v in victims:
                v.stdout.readline()
            while len(os.listdir(sock)) < n:
                time.sleep(0.05)
            time.sleep(2)  # every agent has a sample
            once = []
            for _ in range(args.scrapes):
                t = time.monotonic()
                out = subprocess.run([CLI, "metrics"], env=env, capture_output=True,
                                     check=True).stdout
                once.append(time.monotonic() - t)
            exp = subprocess.Popen([CLI, "metrics", "--listen", "127.0.0.1:0"], env=env,
                                   stderr=subprocess.PIPE, text=True)
            select.select([exp.stderr], [], [], 10)
            url = exp.stderr.readline().split()[-1]
            http = []
            for _ in range(args.scrapes):
                t = time.monotonic()
                with urllib.request.urlopen(url, timeout=30) as r:
                    r.read()
                http.append(time.monotonic() - t)
            with open("/proc/%d/status" % exp.pid) as f:
                rss = [l.split()[1] for l in f if l.startswith("VmHWM:")][0]
            exp.terminate()
            exp.wait()
            exp.stderr.close()
            print("%6d %12.1f ms %12.1f ms %12.1f ms %12.1f ms %10d %10s" % (
                n, 1e3 * statistics.median(once), 1e3 * max(once),
                1e3 * statistics.median(http), 1e3 * max(http), len(out), rss))
        finally:
            for v in victims:
                v.stdin.close()
                v.wait()
                v.stdout.close()
            shutil.rmtree(sock, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
