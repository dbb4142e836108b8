#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-service.py: the service-like heap of scripts/bench.sh, sampled while it
runs (a script, not a timed test).

The heap: Store.get, an unbounded method cache with 900,000 entries on
180,000 Stores (half of them still referenced by the program), and
Cursor.near, a bounded cache (maxsize 100,000) full. Then two phases:

  steady  --phase-s seconds of cache hits only (no miss, nothing new);
  growth  --phase-s seconds that also make --rate new Stores a second, each
          called once through Store.get and dropped: a leak of --rate
          instances a second.

  --mode pyscan  (without the agent) runs the pure-Python scanner
                 (scripts/pyscan.py) once per phase, at its end, and
                 measures the phases' throughput (calls per second);
  --mode agent   (with LD_PRELOAD=liblruleak.so, LRULEAK_RECORD=<dir>,
                 LRULEAK_INTERVAL=<s>) measures the same throughput while the
                 agent samples, and reads back the samples it recorded in
                 each phase.

  --table A.json B.json  prints both side by side (scripts/bench.sh).
"""
import argparse
import functools
import gc
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyscan  # noqa: E402


class Store:
    def __init__(self, i):
        self.i = i

    @functools.lru_cache(maxsize=None)
    def get(self, k):
        return self.i + k


class Cursor:
    def __init__(self, i):
        self.i = i

    @functools.lru_cache(maxsize=100_000)
    def near(self, k):
        return self.i - k


HEAP = {}


def build(stores, per_store, cursors):
    kept = []
    for i in range(stores):
        s = Store(i)
        for k in range(per_store):
            s.get(k)
        if i % 2 == 0:
            kept.append(s)
    cur = [Cursor(i) for i in range(cursors)]
    for c in cur:
        c.near(0)
    HEAP["kept"], HEAP["cursors"] = kept, cur
    s = c = None
    gc.collect()


def phase(seconds, rate, made):
    """Hits on kept Stores and Cursors; with rate > 0 also rate new leaking
    Stores a second. Returns (calls per second, Stores made)."""
    kept, cur = HEAP["kept"], HEAP["cursors"]
    calls = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    next_new = t0
    i = 0
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for _ in range(200):
            kept[i % len(kept)].get(1)
            cur[i % len(cur)].near(0)
            i += 1
        calls += 400
        while rate and next_new <= now:
            Store(made).get(0)
            made += 1
            calls += 1
            next_new += 1.0 / rate
    return calls / (time.perf_counter() - t0), made


def samples_in(path, start, end):
    """The periodic samples written to path between two file offsets."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    out = []
    for line in data.split(b"\n"):
        if b'"sample"' in line:
            r = json.loads(line)
            if r.get("type") == "sample" and not r.get("final"):
                out.append(r)
    return out


def summarise(samples, asked, entries):
    def med(xs):
        return round(statistics.median(xs), 3) if xs else None
    def kind(s):
        if not s.get("steady"):
            return "complete"
        return "growth" if s.get("entries_read", 0) > 0 else "steady"
    by = {}
    for k in ("steady", "growth", "complete"):
        sel = [s for s in samples if kind(s) == k]
        by[k] = {"n": len(sel), "cpu_ms": med([s["scan_cpu_ms"] for s in sel]),
                 "cpu_ms_max": max([s["scan_cpu_ms"] for s in sel] or [0]) or None,
                 "read": med([s.get("entries_read", 0) for s in sel])}
    return {"taken": len(samples), "asked": asked, "kinds": by,
            "max_gil_hold_ms": max([s["max_gil_hold_ms"] for s in samples] or [0]),
            "mem_per_entry": (max([s["agent_mem_bytes"] for s in samples] or [0]) / entries
                              if entries else None)}


def run(args):
    res = {"mode": args.mode, "interval": os.environ.get("LRULEAK_INTERVAL")}
    build(args.stores, args.per_store, args.cursors)
    entries = args.stores * args.per_store + args.cursors
    res["entries"] = entries
    rec = os.environ.get("LRULEAK_RECORD")
    path = os.path.join(rec, "%d.jsonl" % os.getpid()) if args.mode == "agent" else None
    if path:
        # Wait for the first complete sample of the built heap.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if os.path.exists(path) and any(
                    sum(c["entries"] for c in r["caches"]) >= entries
                    for r in (json.loads(x) for x in open(path) if '"sample"' in x)):
                break
            time.sleep(0.05)
    made = args.stores
    interval = float(res["interval"] or 0.25)
    for name, rate in (("steady", 0), ("growth", args.rate)):
        off_a = os.path.getsize(path) if path else 0
        t_a = time.monotonic()
        ops, made = phase(args.phase_s, rate, made)
        t_b = time.monotonic()
        off_b = os.path.getsize(path) if path else 0
        r = {"calls_s": round(ops), "seconds": round(t_b - t_a, 2)}
        if args.mode == "pyscan":
            t = time.process_time()
            ps = pyscan.scan()
            r["pyscan_cpu_ms"] = round((time.process_time() - t) * 1e3, 1)
            r["pyscan_pinned"] = sum(c["pinned"] for c in ps["caches"]
                                     if c["qualname"] == "Store.get")
        else:
            sel = samples_in(path, off_a, off_b)
            r["agent"] = summarise(sel, int((t_b - t_a) / interval), entries)
            if sel:
                r["agent_pinned"] = sum(c["pinned"] for c in sel[-1]["caches"]
                                        if c["qualname"] == "Store.get")
        res[name] = r
    res["made"] = made
    return res


def table(a, b):
    p = print
    p("service-like heap: %d entries (Store.get unbounded, Cursor.near bounded); "
      "agent interval %ss" % (a["entries"], b.get("interval")))
    p("%-30s %-22s %s" % ("", "pure-Python scanner", "lruleak agent"))
    for name in ("steady", "growth"):
        ra, rb = a[name], b.get(name, {})
        ag = rb.get("agent") or {}
        k = ag.get("kinds", {})
        p("-- %s phase (%.1f s)" % (name, ra["seconds"]))
        p("%-30s %-22s %s" % ("CPU ms per sample", "%s (one scan)" % ra["pyscan_cpu_ms"], ""))
        for kind in ("steady", "growth", "complete"):
            kk = k.get(kind, {})
            if kk.get("n"):
                p("%-30s %-22s %s" % ("  %s samples" % kind, "",
                                      "%s x: median %s ms, max %s ms (entries read: median %s)"
                                      % (kk["n"], kk["cpu_ms"], kk["cpu_ms_max"], kk["read"])))
        p("%-30s %-22s %s" % ("longest GIL hold ms", "%s (the scan)" % ra["pyscan_cpu_ms"],
                              ag.get("max_gil_hold_ms")))
        p("%-30s %-22s %s" % ("samples taken / asked", "-", "%s / %s" % (ag.get("taken"),
                                                                         ag.get("asked"))))
        p("%-30s %-22s %s" % ("agent memory B per entry", "-", "%.1f" % ag["mem_per_entry"]
                              if ag.get("mem_per_entry") else None))
        p("%-30s %-22s %s" % ("workload calls/s", "%d (no agent)" % ra["calls_s"],
                              "%s (%+.1f%%)" % (rb.get("calls_s"), (rb["calls_s"] - ra["calls_s"])
                                                * 100.0 / ra["calls_s"])
                              if rb.get("calls_s") else None))
        p("%-30s %-22s %s" % ("Store.get pinned at the end", ra.get("pyscan_pinned"),
                              rb.get("agent_pinned")))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--mode", choices=("pyscan", "agent"), default="pyscan")
    ap.add_argument("--stores", type=int, default=180_000)
    ap.add_argument("--per-store", type=int, default=5)
    ap.add_argument("--cursors", type=int, default=100_000)
    ap.add_argument("--phase-s", type=float, default=6.0)
    ap.add_argument("--rate", type=int, default=1500)
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--table", nargs=2, metavar=("PYSCAN_JSON", "AGENT_JSON"))
    args = ap.parse_args(argv)
    if args.table:
        with open(args.table[0]) as f:
            a = json.load(f)
        b = {}
        if os.path.getsize(args.table[1]):
            with open(args.table[1]) as f:
                b = json.load(f)
        table(a, b)
        return 0
    res = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
