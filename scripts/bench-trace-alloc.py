#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-trace-alloc.py: what `--trace-alloc` costs (a script, not a test).

Runs one workload several times in each configuration and prints a table:

  no agent             plain python
  tracemalloc=N        plain python -X tracemalloc=N: tracemalloc's own cost
  agent                LD_PRELOAD=liblruleak.so (sampling every --interval s)
  agent --trace-alloc  the same with LRULEAK_TRACE_ALLOC=1 (and =N for
                       each --frames given): tracemalloc traces from the
                       agent's first sample on

Columns: the loop's ops/s (median of the runs) and the slowdown against no
agent; peak RSS (and the growth against no agent); the agent's samples
(all but the final one at exit, which keeps the GIL): median CPU time,
median / largest longest-GIL-hold per sample, median / largest time spent
looking the allocation sites up (the sample's alloc_ms, one GIL stretch).

The workload (run with --child) builds --objects instances pinned by an
unbounded method cache (some of them also kept alive on purpose), then
times a loop of object churn (small objects, dicts, lists, cached calls)
and prints JSON: ops/s of the loop and the peak RSS. The agent's own
figures (median and largest scan_ms, longest GIL hold) come from the
recording of each run.

Usage: scripts/bench-trace-alloc.py [--agent build/agent/liblruleak.so]
       [--python python3] [--objects 100000] [--ops 2000000] [--repeat 3]
       [--interval 0.5] [--frames 1 --frames 10]
"""
import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


class Item:
    def __init__(self, i):
        self.i = i
        self.tags = [i, i + 1]

    @functools.lru_cache(maxsize=None)
    def key(self, salt):
        return (self.i, salt)


def child(objects, ops):
    import tracemalloc
    kept = []
    for i in range(objects):
        it = Item(i)
        it.key(1)
        if i % 10 == 0:
            kept.append(it)
    # Under the agent: wait for its first sample of this heap (the full
    # walk) and for tracemalloc when asked, so the loop sees routine samples.
    deadline = time.monotonic() + 30
    rec = os.environ.get("LRULEAK_RECORD")
    path = os.path.join(rec, "%d.jsonl" % os.getpid()) if rec else None
    while path and time.monotonic() < deadline:
        if os.environ.get("LRULEAK_TRACE_ALLOC") and not tracemalloc.is_tracing():
            time.sleep(0.01)
            continue
        try:
            with open(path, encoding="utf-8") as f:
                if sum('"type":"sample"' in line for line in f) >= 1:
                    break
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    t0 = time.perf_counter()
    sink = None
    for i in range(ops):
        o = Item(i)
        d = {"a": i, "b": [i]}
        sink = (o, d, o.tags[0])
        if i % 100 == 0:
            kept[i % len(kept)].key(i % 7)
    dt = time.perf_counter() - t0
    del sink
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    print(json.dumps({"ops_s": ops / dt, "seconds": dt, "maxrss_kib": rss,
                      "tracing": tracemalloc.is_tracing(),
                      "frames": tracemalloc.get_traceback_limit()}))


def run(args, frames, with_agent, xopt=None):
    rec = tempfile.mkdtemp(prefix="bench-trace-")
    env = dict(os.environ, LRULEAK_INTERVAL=str(args.interval))
    env.pop("LRULEAK_TRACE_ALLOC", None)
    if with_agent:
        env.update(LD_PRELOAD=args.agent, LRULEAK_RECORD=rec)
        if frames:
            env["LRULEAK_TRACE_ALLOC"] = str(frames)
    p = subprocess.run([args.python] + (["-X", xopt] if xopt else []) +
                       [os.path.abspath(__file__), "--child",
                        "--objects", str(args.objects), "--ops", str(args.ops)],
                       capture_output=True, text=True, env=env, check=True)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    scans, holds, alloc = [], [], []
    for name in os.listdir(rec):
        with open(os.path.join(rec, name), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r.get("type") == "sample" and not r.get("final"):
                    scans.append(r["scan_cpu_ms"])
                    holds.append(r["max_gil_hold_ms"])
                    if "alloc_ms" in r:
                        alloc.append(r["alloc_ms"])
        os.unlink(os.path.join(rec, name))
    os.rmdir(rec)
    out["scan_ms"] = scans
    out["hold_ms"] = holds
    out["alloc_ms"] = alloc
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--agent", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "agent", "liblruleak.so"))
    ap.add_argument("--python", default="python3")
    ap.add_argument("--objects", type=int, default=100000)
    ap.add_argument("--ops", type=int, default=2000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--frames", type=int, action="append")
    args = ap.parse_args()
    if args.child:
        child(args.objects, args.ops)
        return
    args.agent = os.path.abspath(args.agent)
    frames = args.frames or [1]
    configs = [("no agent", 0, False, None)]
    configs += [("no agent, tracemalloc=%d" % n, 0, False, "tracemalloc=%d" % n)
                for n in frames]
    configs += [("agent", 0, True, None)]
    configs += [("agent --trace-alloc=%d" % n, n, True, None) for n in frames]
    print("workload: %d pinned-cache objects, %d churn ops, %d runs each, interval %.2f s, %s"
          % (args.objects, args.ops, args.repeat, args.interval, args.python))
    print("%-24s %8s %9s %15s %12s %13s %12s" % ("", "kops/s", "slowdown", "peak RSS MiB",
                                                 "scan CPU ms", "GIL hold ms", "sites ms"))
    base = None
    for name, frames, agent, xopt in configs:
        runs = [run(args, frames, agent, xopt) for _ in range(args.repeat)]
        kops = statistics.median(r["ops_s"] for r in runs) / 1e3
        rss = statistics.median(r["maxrss_kib"] for r in runs) / 1024
        scans = [s for r in runs for s in r["scan_ms"]]
        holds = [h for r in runs for h in r["hold_ms"]]
        alloc = [a for r in runs for a in r["alloc_ms"]]
        if base is None:
            base = (kops, rss)
        print("%-24s %8.0f %8.0f%% %7.1f (%+.1f) %12s %13s %12s" % (
            name, kops, (base[0] / kops - 1) * 100, rss, rss - base[1],
            "%.1f" % statistics.median(scans) if scans else "-",
            "%.1f / %.1f" % (statistics.median(holds), max(holds)) if holds else "-",
            "%.2f / %.2f" % (statistics.median(alloc), max(alloc)) if alloc else "-"))
        if frames and not all(r["tracing"] and r["frames"] == frames for r in runs):
            print("  (tracemalloc did not trace as asked)", file=sys.stderr)


if __name__ == "__main__":
    main()
