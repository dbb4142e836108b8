#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-attach.py: what `lruleak attach` / `lruleak detach` cost a running process.

Usage: scripts/bench-attach.py [--build DIR] [--python PY] [--cycles N] [--mode spin|sleep]

It starts tests/scenarios/spin.py (a CPU-bound pure-Python main thread that
records the longest gap between two of its rounds) or blocked.py sleep (a
main thread in time.sleep), WITHOUT the agent, and runs N attach/detach
cycles against it with the built CLI, then reports:
  - attach and detach wall time as the CLI sees it (median, max), including
    the wait until the agent answers;
  - for spin: the loop's longest stall during a run without any attach and
    during the run with N cycles (the agent samples at its default
    interval while attached);
  - the route the CLI reported.
A benchmark, not a test: it reports, it never fails on a number.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = os.path.join(ROOT, "tests", "scenarios")


def run_target(python, mode, env):
    if mode == "spin":
        argv = [python, os.path.join(TARGETS, "spin.py")]
    else:
        argv = [python, os.path.join(TARGETS, "blocked.py"), "sleep", "3600"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    while p.stdout.readline().strip() != "READY":
        pass
    return p


def stall(python, mode, env, cli, cycles):
    """Run the target, do `cycles` attach/detach cycles; times and the stall."""
    p = run_target(python, mode, env)
    time.sleep(0.5)
    attach, detach, routes = [], [], set()
    for _ in range(cycles):
        t = time.monotonic()
        out = subprocess.run([cli, "attach", str(p.pid)], env=env, capture_output=True, text=True)
        attach.append((time.monotonic() - t) * 1000)
        if out.returncode != 0:
            sys.exit("attach failed: " + out.stderr)
        routes.add(out.stdout.split(") ", 1)[1].split(":")[0] if ") " in out.stdout else "?")
        time.sleep(0.2)
        t = time.monotonic()
        out = subprocess.run([cli, "detach", str(p.pid)], env=env, capture_output=True, text=True)
        detach.append((time.monotonic() - t) * 1000)
        if out.returncode != 0:
            sys.exit("detach failed: " + out.stderr)
    time.sleep(0.5)
    gap = None
    if mode == "spin":
        p.stdin.write("go\n")
        p.stdin.flush()
        gap = json.loads(p.stdout.readline())["max_gap_ms"]
    p.kill()
    p.wait()
    return attach, detach, routes, gap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--mode", choices=["spin", "sleep"], default="spin")
    args = ap.parse_args()
    cli = os.path.join(os.path.abspath(args.build), "cli", "lruleak")
    with tempfile.TemporaryDirectory(prefix="lruleak-bench-attach.") as tmp:
        sock = os.path.join(tmp, "sock")
        os.mkdir(sock, 0o700)
        env = dict(os.environ, LRULEAK_DIR=sock, PYTHONDONTWRITEBYTECODE="1")
        env.pop("LD_PRELOAD", None)
        version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True).stdout.strip()
        _, _, _, base_gap = stall(args.python, args.mode, env, cli, 0)
        attach, detach, routes, gap = stall(args.python, args.mode, env, cli, args.cycles)
    print("CPython %s, %s target, %d attach/detach cycles" % (version, args.mode, args.cycles))
    print("route:              %s" % ", ".join(sorted(routes)))
    print("attach ms:          median %.1f  max %.1f" % (statistics.median(attach), max(attach)))
    print("detach ms:          median %.1f  max %.1f" % (statistics.median(detach), max(detach)))
    if gap is not None:
        print("longest stall ms:   %.1f without attach, %.1f with %d cycles"
              % (base_gap, gap, args.cycles))


if __name__ == "__main__":
    main()
