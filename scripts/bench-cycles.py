#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-cycles.py: what the cycle rule costs a sample.

Builds INSTANCES objects keyed by a class-level cache, each owning a
per-instance cache around its own bound method (ENTRIES entries, str keys,
list results: the jsonschema RefResolver shape), keeps every tenth, and
takes SAMPLES full samples in-process through _lruleak (the agent from
AGENT_DIR, default build/agent). Prints the median and max scan CPU,
pinned and retained_bytes of the class-level row, and the agent's memory.
A benchmark, not a test: it checks nothing but that pinned is what the heap
was built with.

Usage: scripts/bench-cycles.py [--agent-dir DIR] [--instances N] [--entries N] [--samples N]
"""
import argparse
import functools
import gc
import os
import statistics
import sys


class Resolver:
    def __init__(self, n, entries):
        self.n = n
        self._remote_cache = functools.lru_cache(1024)(self.resolve_from_url)
        for k in range(entries):
            self._remote_cache("u%d/%d" % (n, k))

    def resolve_from_url(self, url):
        return [url, self.n]

    @functools.lru_cache(maxsize=None)
    def scope(self):
        return self.n


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent-dir", default=os.path.join(here, "..", "build", "agent"))
    ap.add_argument("--instances", type=int, default=50_000)
    ap.add_argument("--entries", type=int, default=8)
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.agent_dir))
    import _lruleak

    kept = []
    for i in range(args.instances):
        r = Resolver(i, args.entries)
        r.scope()
        if i % 10 == 0:
            kept.append(r)
    del r
    gc.collect()
    expected = args.instances - len(kept)
    cpu, rows = [], None
    for _ in range(args.samples):
        sample = _lruleak.snapshot(True)
        cpu.append(sample["scan_cpu_ms"])
        rows = {c["qualname"]: c for c in sample["caches"]}
    row = rows["Resolver.scope"]
    print("python %s, %d instances x %d per-instance entries, %d kept"
          % (sys.version.split()[0], args.instances, args.entries, len(kept)))
    print("scan CPU ms (median / max of %d full samples): %.1f / %.1f"
          % (len(cpu), statistics.median(cpu), max(cpu)))
    print("Resolver.scope: selves %d, pinned %d (built: %d), retained %.1f MiB"
          % (row["selves"], row["pinned"], expected, row["retained_bytes"] / 2**20))
    print("agent_mem_bytes: %.1f MiB" % (sample["agent_mem_bytes"] / 2**20))


if __name__ == "__main__":
    main()
