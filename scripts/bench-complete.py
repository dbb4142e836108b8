#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-complete.py: what a complete sample costs (a benchmark, not a timed
test), for one or more builds of the agent side by side, and what a steady
per-test check costs.

A complete sample reads every entry and walks the graph; the agent takes
one when it cannot carry the last one's counts on, e.g. after a bounded
cache evicted. Three cases, each in a fresh process per build, the builds
alternated --rounds times:

  heap    scripts/bench.py's heap (1,000,000 entries on 140,000 selves);
          before each sample one miss in its full 100,000-entry bounded
          cache (an eviction)
  typing  CPython's test_typing run once in-process (Debian's
          libpython3.11-testsuite; the heap a pytest run of it leaves),
          then before each sample a new typing.List[C]: a miss in one of
          typing's full 128-entry caches (what per-test attribution meets
          after most of test_typing's tests)
  steady  the same heap, nothing changed before each sample (a per-test
          check after a test that changed no cache: a steady sample)

Each sample is _lruleak.snapshot(False) (heap) or _lruleak.pinned(False)
(typing and steady, as the pytest plugin calls it), timed in CPU time of the calling
thread; the median and quartiles per build are printed.

Usage: scripts/bench-complete.py [--python /usr/bin/python3.11] [--rounds 4]
                                 [--heap heap|typing|steady|all] BUILD_DIR [BUILD_DIR ...]
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import importlib.util, io, os, sys, time
spec = importlib.util.spec_from_file_location("_lruleak", sys.argv[1])
agent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(agent)
kind, n = sys.argv[2], int(sys.argv[3])
cpu = []
if kind == "heap":
    sys.path.insert(0, sys.argv[4])
    import bench
    keep = bench.build_heap(100000, 10, 10, True)
    agent.snapshot(True)
    for i in range(n):
        bench.Session(10**9 + i).lookup(1)
        t = time.thread_time()
        agent.snapshot(False)
        cpu.append(time.thread_time() - t)
else:
    import typing, unittest
    import test.test_typing as tt
    unittest.TextTestRunner(stream=io.StringIO()).run(
        unittest.defaultTestLoader.loadTestsFromModule(tt))
    agent.pinned(False)
    classes = [type("C%d" % i, (), {}) for i in range(n)]
    for c in classes:
        if kind == "typing":
            typing.List[c]
        t = time.thread_time()
        agent.pinned(False)
        cpu.append(time.thread_time() - t)
print(" ".join("%.6f" % x for x in cpu))
"""


def run_once(python, build, kind, n):
    lib = os.path.join(build, "agent", "liblruleak.so")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRULEAK_")}
    p = subprocess.run([python, "-c", CHILD, lib, kind, str(n), HERE], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit("bench-complete: %s with %s failed:\n%s" % (kind, lib, p.stderr[-2000:]))
    return [float(x) * 1000 for x in p.stdout.split()]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--heap", choices=["heap", "typing", "steady", "all"], default="all")
    ap.add_argument("builds", nargs="+", help="meson build directories holding agent/liblruleak.so")
    args = ap.parse_args(argv)
    for b in args.builds:
        if not os.path.isfile(os.path.join(b, "agent", "liblruleak.so")):
            raise SystemExit("bench-complete: no agent/liblruleak.so in %s" % b)
    kinds = ["heap", "typing", "steady"] if args.heap == "all" else [args.heap]
    print("%-8s %-40s %8s %8s %8s %8s" % ("heap", "build", "samples", "p25 ms", "median", "p75"))
    for kind in kinds:
        n = 8 if kind == "heap" else 300
        got = {b: [] for b in args.builds}
        for _ in range(args.rounds):
            for b in args.builds:
                got[b] += run_once(args.python, b, kind, n)
        for b in args.builds:
            v = sorted(got[b])
            q = statistics.quantiles(v, n=4)
            print("%-8s %-40s %8d %8.3f %8.3f %8.3f" % (kind, b[-40:], len(v), q[0],
                                                        statistics.median(v), q[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
