#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-gil-convoy.py: how long the agent waits for the GIL in a convoy.

Usage: scripts/bench-gil-convoy.py [--build DIR] [--python PY ...] [--requests N]

The target is tests/scenarios/spin.py: a main thread that computes in pure
Python and calls select() with a zero timeout every 2000 rounds, so it drops
the GIL and takes it back all the time (a busy event loop polling its
selector does the same). CPython's switch interval then rarely fires and a
thread waiting for the GIL can wait for seconds (agent/runtime/gil.h). Per
interpreter, side by side:
  - a Python thread in the same loop's process: how late its 10 ms sleeps
    end (median, max over 3 s): what any thread without the handoff waits;
  - the agent (preloaded, 1 s interval): the time to answer N full
    snapshot requests (median, max), each needing the GIL many times;
  - the same requests to scenarios/blocked.py, whose main thread sleeps in
    time.sleep() (an idle program: no convoy, no handoff);
  - spin.py's longest stall (the longest gap between two of its rounds)
    without the agent and with it, while those requests ran.
A benchmark, not a test: it reports, it never fails on a number.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPIN = os.path.join(ROOT, "tests", "scenarios", "spin.py")
BLOCKED = os.path.join(ROOT, "tests", "scenarios", "blocked.py")

THREAD_WAIT = r"""
import select, sys, threading, time
late, stop = [], False
def sleeper():
    while not stop:
        t = time.monotonic()
        time.sleep(0.01)
        late.append(time.monotonic() - t - 0.01)
th = threading.Thread(target=sleeper)
th.start()
end, acc = time.monotonic() + 3, 0
while time.monotonic() < end:
    for i in range(2000):
        acc = (acc * 31 + i) % 1000003
    select.select([sys.stdin], [], [], 0)
stop = True
th.join()
late.sort()
print(len(late), late[len(late) // 2] * 1000, late[-1] * 1000)
"""


def thread_wait(python):
    p = subprocess.run([python, "-c", THREAD_WAIT], stdin=subprocess.PIPE, capture_output=True,
                       text=True, timeout=60)
    n, med, worst = p.stdout.split()
    return int(n), float(med), float(worst)


def spin(python, env, argv=(SPIN,)):
    p = subprocess.Popen([python, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    while p.stdout.readline().strip() != "READY":
        pass
    return p


def spin_end(p):
    p.stdin.write("go\n")
    p.stdin.flush()
    result = json.loads(p.stdout.readline())
    p.communicate(timeout=30)
    return result["max_gap_ms"]


def request(path, line):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(120)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def agent_run(python, agent, requests, idle=False):
    sockdir = tempfile.mkdtemp(prefix="lruleak-bench-")
    env = dict(os.environ, LD_PRELOAD=agent, LRULEAK_DIR=sockdir, LRULEAK_INTERVAL="1")
    p = spin(python, env, (BLOCKED, "sleep", "3600") if idle else (SPIN,))
    path = os.path.join(sockdir, "%d.sock" % p.pid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if request(path, '{"cmd":"hello"}').get("state") == "sampling":
                break
        except OSError:
            pass
        time.sleep(0.05)
    times = []
    for _ in range(requests):
        t = time.monotonic()
        reply = request(path, '{"cmd":"snapshot","full":true}')
        times.append((time.monotonic() - t) * 1000)
        if not reply.get("ok"):
            sys.exit("snapshot refused: %s" % reply)
    if idle:
        p.kill()
        p.communicate()
        gap = 0.0
    else:
        gap = spin_end(p)
    shutil.rmtree(sockdir, ignore_errors=True)
    return statistics.median(times), max(times), gap


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--python", action="append")
    ap.add_argument("--requests", type=int, default=10)
    args = ap.parse_args()
    agent = os.path.abspath(os.path.join(args.build, "agent", "liblruleak.so"))
    if not os.path.exists(agent):
        sys.exit("bench-gil-convoy: no agent at %s (scripts/build.sh)" % agent)
    pythons = args.python or [p for p in ("python3", "/usr/bin/python3.11-dbg")
                              if shutil.which(p)]
    print("%-30s %-20s %-18s %-18s %s" % ("interpreter", "thread late ms", "agent snapshot ms",
                                          "same, idle program", "spin stall ms (no agent / agent)"))
    for python in pythons:
        version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0] + "
                                  "(' debug' if hasattr(sys, 'gettotalrefcount') else ''))"],
                                 capture_output=True, text=True).stdout.strip()
        n, med, worst = thread_wait(python)
        bare = spin(python, dict(os.environ))
        time.sleep(2)
        bare_gap = spin_end(bare)
        amed, aworst, agap = agent_run(python, agent, args.requests)
        imed, iworst, _ = agent_run(python, agent, args.requests, idle=True)
        print("%-30s %-20s %-18s %-18s %.1f / %.1f" % (
            "%s %s" % (os.path.basename(python), version),
            "%.1f / %.1f (n=%d)" % (med, worst, n), "%.1f / %.1f" % (amed, aworst),
            "%.1f / %.1f" % (imed, iworst), bare_gap, agap))
    print("(median / max; a thread that woke only n times in 3 s waited the rest)")


if __name__ == "__main__":
    main()
