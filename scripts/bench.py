#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py: the lruleak benchmark (a script, not a timed test).

Builds a heap with many instances and about 1,000,000 method-cache entries,
then measures one of two things, in one process:

  --mode pyscan   (run WITHOUT the agent) the pure-Python scanner
                  (scripts/pyscan.py) on that heap, then the workload.
  --mode agent    (run WITH the agent: LD_PRELOAD=liblruleak.so,
                  LRULEAK_RECORD=<dir>, LRULEAK_INTERVAL=<s>) waits until
                  the agent has recorded --samples samples of the built heap
                  in <dir>/<pid>.jsonl and reads their figures, runs the
                  pure-Python scanner in the same process to compare counts,
                  then the workload (with the agent sampling).

The workload is a fixed loop of cached-method calls and object churn; its
ops/s with and without the agent gives the agent's slowdown.

  --table A.json B.json   prints the side-by-side table of a pyscan run (A)
                          and an agent run (B); scripts/bench.sh does all
                          of this in one go.

The heap is deterministic: both runs build the same caches, and the expected
counts follow from the construction (every --keep-every-th instance is kept
alive by a list, so it is a self but not pinned).
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


# ---- the heap -------------------------------------------------------------------
# Classes live at module level so their caches get plain qualnames
# ("Adder.calc") and kind "method".  The bounded caches are sized at run time
# (exactly to the calls they receive: full, nothing evicted) by re-wrapping
# the plain function under the same name.

class Adder:
    def __init__(self, i):
        self.i = i
        self.tag = "adder"

    @functools.lru_cache(maxsize=None)
    def calc(self, x):
        return self.i + x

    @functools.lru_cache(maxsize=None)
    def scaled(self, k):
        return self.i * k


class Parser:
    def __init__(self, i):
        self.i = i

    @functools.cache
    def parse(self, n):
        return self.i - n


class Geo:
    def __init__(self, i):
        self.i = i

    @functools.lru_cache(maxsize=None, typed=True)
    def dist(self, x, unit=1):
        return (self.i + x) * unit


class Session:
    def __init__(self, i):
        self.i = i

    def lookup(self, key):
        return self.i ^ key


class Tile:
    def __init__(self, i):
        self.i = i

    def render(self, z):
        return self.i << (z & 15)


class Config:
    @classmethod
    @functools.lru_cache(maxsize=None)
    def load(cls, name):
        return {"name": name}

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def parse(n):
        return n * 2


@functools.lru_cache(maxsize=None)
def normalise(text):
    return text.lower()


class PerInstance:
    """The fix: each instance owns its cache (kind per-instance)."""

    def __init__(self, i):
        self.i = i
        self.get = functools.lru_cache(maxsize=8)(self._get)

    def _get(self, x):
        return self.i + x


class WorkItem:
    """Workload churn: short-lived objects through a small bounded cache."""

    def __init__(self, i):
        self.i = i

    def val(self, k):
        return self.i + k


WorkItem.val = functools.lru_cache(maxsize=1024)(WorkItem.val)

# (class, [method names], share of the instances)
PLAN = [(Adder, ["calc", "scaled"], 4), (Parser, ["parse"], 2), (Geo, ["dist"], 2),
        (Session, ["lookup"], 1), (Tile, ["render"], 1)]

HEAP = {}      # everything the benchmark keeps alive on purpose


def build_heap(instances, per_instance, keep_every, extras):
    """Build the heap; return the expected per-cache counts."""
    shares = sum(p[2] for p in PLAN)
    counts = {}
    left = instances
    for idx, (cls, _methods, share) in enumerate(PLAN):
        n = instances * share // shares if idx < len(PLAN) - 1 else left
        counts[cls] = n
        left -= n
    # Size the bounded caches to exactly what they will hold.
    Session.lookup = functools.lru_cache(maxsize=max(1, counts[Session] * per_instance))(
        getattr(Session.lookup, "__wrapped__", Session.lookup))
    Tile.render = functools.lru_cache(maxsize=max(1, counts[Tile] * per_instance))(
        getattr(Tile.render, "__wrapped__", Tile.render))

    live = []
    expected = {}
    serial = 0
    for cls, methods, _share in PLAN:
        n = counts[cls]
        # Split per_instance calls over the methods (the first ones get the rest).
        split = [per_instance // len(methods) + (1 if j < per_instance % len(methods) else 0)
                 for j in range(len(methods))]
        for j, m in enumerate(methods):
            if split[j]:
                expected["%s.%s" % (cls.__name__, m)] = {
                    "entries": n * split[j], "selves": n,
                    "pinned": n - len(range(0, n, keep_every)) if keep_every else n}
        for i in range(n):
            obj = cls(serial)
            serial += 1
            for j, m in enumerate(methods):
                bound = getattr(obj, m)
                k = split[j]
                if cls is Geo:
                    # One key of each Geo built from keywords only: its first
                    # element is the keyword marker, the self comes after the
                    # name "self".  The rest are positional (typed cache).
                    Geo.dist(self=obj, x=0)
                    for x in range(1, k):
                        bound(x)
                else:
                    for x in range(k):
                        bound(x)
            if keep_every and i % keep_every == 0:
                live.append(obj)
        # The loop variables hold the last instance: drop them, or it would
        # not be pinned.
        obj = bound = None
    HEAP["live"] = live

    if extras:
        # Realism: ordinary live objects and classes, caches that pin
        # nothing (classmethod keyed on the class, staticmethod and function
        # keyed on plain values) and per-instance caches.
        classes = [type("Plain%d" % i, (object,), {"n": i, "f": lambda self: self.n})
                   for i in range(2000)]
        HEAP["classes"] = classes
        HEAP["objects"] = [c() for c in classes]
        HEAP["dicts"] = [{"k": i, "v": [i, str(i)]} for i in range(5000)]
        HEAP["per_instance"] = [PerInstance(i) for i in range(300)]
        for p in HEAP["per_instance"]:
            p.get(1)
            p.get(2)
        for i in range(50):
            Config.load("section%d" % i)
            Config.parse(i)
            normalise("Text%d" % i)
    gc.collect()
    return expected


# ---- the workload -----------------------------------------------------------------

def workload(ops, repeats):
    """A fixed loop: cached-method hits on live instances, misses with
    object churn through a bounded cache, small allocations.  Returns the
    ops/s of each repeat."""
    adders = [o for o in HEAP["live"] if type(o) is Adder][:1000]
    if not adders:
        adders = [Adder(-1)]
        HEAP["work_adders"] = adders
    na = len(adders)
    rates = []
    gen2 = gc.get_stats()[2]["collections"]
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        acc = 0
        for i in range(ops):
            acc += adders[i % na].calc(0)          # hit
            w = WorkItem(i)                        # churn: miss + eviction
            acc += w.val(i & 3)
            tmp = [i, {"i": i}]
            acc += len(tmp)
        dt = time.perf_counter() - t0
        rates.append(ops / dt)
    WorkItem.val.cache_clear()
    # Full collections during the loops (minus the explicit ones): they cost
    # the same with and without the agent, and explain uneven repeats.
    gen2 = gc.get_stats()[2]["collections"] - gen2 - repeats
    return rates, gen2


# ---- the agent's recording -----------------------------------------------------

def read_records(path):
    """Complete JSON lines of <dir>/<pid>.jsonl (a partial last line is skipped)."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out
    for line in data.split(b"\n")[:-1]:
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"type": "garbage", "line": line[:200].decode("utf-8", "replace")})
    return out


def wait_next_sample(path, timeout=30.0):
    """Return (seconds waited) once a new complete sample line is in path."""
    t0 = time.monotonic()
    size = os.stat(path).st_size
    while time.monotonic() - t0 < timeout:
        time.sleep(0.001)
        now = os.stat(path).st_size
        if now != size:
            with open(path, "rb") as f:
                f.seek(size)
                tail = f.read()
            if tail.endswith(b"\n") and b'"sample"' in tail:
                time.sleep(0.002)    # let the agent drop its references
                return time.monotonic() - t0
    return time.monotonic() - t0


def sample_entries(s):
    return sum(c.get("entries", 0) for c in s.get("caches", []))


def wait_for_samples(path, first_seq, min_entries, k, timeout):
    """Wait for k samples with seq > first_seq and at least min_entries entries."""
    deadline = time.monotonic() + timeout
    while True:
        recs = read_records(path)
        refused = [r for r in recs if r.get("type") == "refused"]
        if refused:
            raise SystemExit("bench: the agent refused this interpreter: %r" % refused[0])
        good = [r for r in recs if r.get("type") == "sample" and r.get("seq", 0) > first_seq
                and not r.get("final") and sample_entries(r) >= min_entries]
        if len(good) >= k:
            return recs, good[:k]
        if time.monotonic() > deadline:
            kinds = {}
            for r in recs:
                kinds[r.get("type")] = kinds.get(r.get("type"), 0) + 1
            last = [r for r in recs if r.get("type") == "sample"][-1:]
            raise SystemExit("bench: %d/%d usable samples after %ds in %s (records: %r; last "
                             "sample entries %s)" % (len(good), k, timeout, path, kinds,
                                                     sample_entries(last[0]) if last else None))
        time.sleep(0.05)


def summarise_samples(samples):
    def col(name):
        return [s.get(name) for s in samples if isinstance(s.get(name), (int, float))]

    def med(name):
        v = col(name)
        return statistics.median(v) if v else None

    def mx(name):
        v = col(name)
        return max(v) if v else None
    entries = [sample_entries(s) for s in samples]
    cpu = col("scan_cpu_ms")
    return {
        "n": len(samples), "seqs": [s.get("seq") for s in samples],
        "full": sum(1 for s in samples if s.get("full")),
        "scan_ms": med("scan_ms"), "scan_ms_max": mx("scan_ms"),
        "scan_cpu_ms": med("scan_cpu_ms"), "scan_cpu_ms_max": mx("scan_cpu_ms"),
        "ns_per_entry": (statistics.median(c * 1e6 / e for c, e in zip(cpu, entries) if e)
                         if cpu else None),
        "max_gil_hold_ms": mx("max_gil_hold_ms"),
        "max_gil_hold_ms_median": med("max_gil_hold_ms"),
        "gil_holds": med("gil_holds"),
        "agent_mem_bytes": mx("agent_mem_bytes"),
        "entries": entries[-1], "wrappers": samples[-1].get("wrappers"),
        "truncated": any(s.get("truncated") for s in samples),
        "selves": sum(c.get("selves", 0) for c in samples[-1].get("caches", [])),
        "pinned": sum(c.get("pinned", 0) for c in samples[-1].get("caches", [])),
    }


def rows_by_name(caches):
    out = {}
    for c in caches:
        module = c.get("module")
        if module == "bench":       # this file imported rather than run
            module = "__main__"
        key = "%s:%s" % (module, c.get("qualname"))
        r = out.setdefault(key, {"entries": 0, "selves": 0, "pinned": 0, "kind": c.get("kind")})
        for f in ("entries", "selves", "pinned"):
            r[f] += c.get(f) or 0
    return out


def compare_rows(a_caches, b_caches):
    """Rows whose entries/selves/pinned differ: [(name, a_row, b_row)]."""
    a, b = rows_by_name(a_caches), rows_by_name(b_caches)
    diffs = []
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name), b.get(name)
        if ra is None or rb is None or any(ra[f] != rb[f] for f in ("entries", "selves", "pinned")):
            diffs.append((name, ra, rb))
    return diffs


# ---- the runs ------------------------------------------------------------------------

def run(args):
    res = {"mode": args.mode, "python": sys.version.split()[0],
           "implementation": sys.implementation.name, "executable": sys.executable,
           "pid": os.getpid(), "instances": args.instances,
           "entries_per_instance": args.entries_per_instance,
           "ld_preload": os.environ.get("LD_PRELOAD", ""),
           "interval": os.environ.get("LRULEAK_INTERVAL")}
    rss_start = pyscan.rss_bytes()
    path = None
    first_seq = 0
    if args.mode == "agent":
        rec = os.environ.get("LRULEAK_RECORD")
        if not rec:
            raise SystemExit("bench: --mode agent needs LRULEAK_RECORD (and LD_PRELOAD)")
        path = os.path.join(rec, "%d.jsonl" % os.getpid())
    t0 = time.perf_counter()
    expected = build_heap(args.instances, args.entries_per_instance, args.keep_every,
                          not args.no_extras)
    res["build_s"] = round(time.perf_counter() - t0, 2)
    res["expected"] = expected
    res["expected_entries"] = sum(e["entries"] for e in expected.values())
    res["rss_start"] = rss_start
    res["rss_built"] = pyscan.rss_bytes()
    log = functools.partial(print, file=sys.stderr, flush=True)
    log("bench[%s]: heap built in %.1fs: %d instances, %d benchmark cache entries, RSS %.1f MiB"
        % (args.mode, res["build_s"], args.instances, res["expected_entries"],
           res["rss_built"] / 2**20))

    if args.mode == "agent":
        recs = read_records(path)
        first_seq = max([r.get("seq", 0) for r in recs if r.get("type") == "sample"] or [0])
        recs, samples = wait_for_samples(path, first_seq, res["expected_entries"],
                                         args.samples, args.timeout)
        res["rss_sampled"] = pyscan.rss_bytes()
        proc = [r for r in recs if r.get("type") == "process"]
        res["agent_process"] = proc[0] if proc else None
        res["agent"] = summarise_samples(samples)
        res["agent_samples"] = [dict({k: s.get(k) for k in (
            "seq", "t", "full", "scan_ms", "scan_cpu_ms", "max_gil_hold_ms", "gil_holds",
            "agent_mem_bytes", "wrappers", "truncated")}, entries=sample_entries(s))
            for s in samples]
        res["agent_caches"] = samples[-1].get("caches", [])
        a = res["agent"]
        log("bench[agent]: %d samples (seq %s): scan %.2f ms (max %.2f), CPU %.2f ms "
            "(max %.2f), longest GIL hold %.2f ms, %s GIL holds, agent mem %s B"
            % (a["n"], a["seqs"], a["scan_ms"] or -1, a["scan_ms_max"] or -1,
               a["scan_cpu_ms"] or -1, a["scan_cpu_ms_max"] or -1,
               a["max_gil_hold_ms"] or -1, a["gil_holds"], a["agent_mem_bytes"]))

    # The pure-Python scanner (timed in the pyscan run; in the agent run it
    # is there for the counts, compared with the last sample above).
    gc.collect()
    hook = None
    if args.mode == "agent":
        # The agent holds a reference to every object it walks until its
        # sample ends: read the refcounts right after a sample was written,
        # in the idle gap before the next one.
        def hook():
            res["pyscan_gap_wait_ms"] = round(wait_next_sample(path) * 1e3, 1)
    ps = pyscan.scan(before_refcounts=hook)
    res["pyscan"] = {k: v for k, v in ps.items() if k != "caches"}
    res["pyscan_caches"] = ps["caches"]
    pyscan.format_report(ps, file=sys.stderr)
    if args.mode == "agent":
        diffs = compare_rows(res["pyscan_caches"], res["agent_caches"])
        res["count_diffs"] = diffs
        # The sample taken right after the scan, for the record.
        log("bench[agent]: counts %s the pure-Python scanner in this process%s"
            % ("AGREE with" if not diffs else "DIFFER from",
               "" if not diffs else ": " + "; ".join(
                   "%s pyscan=%s agent=%s" % d for d in diffs[:10])))

    if args.workload_ops:
        rates, gen2 = workload(args.workload_ops, args.repeats)
        res["workload_rates"] = [round(r) for r in rates]
        # Total ops over total time: each repeat meets the same full
        # collections in both runs, a median would pick and choose.
        res["workload_ops_s"] = round(len(rates) / sum(1.0 / r for r in rates))
        res["workload_gen2_collections"] = gen2
        log("bench[%s]: workload %d ops x %d: %s ops/s (overall %d, %d full collections)"
            % (args.mode, args.workload_ops, args.repeats, res["workload_rates"],
               res["workload_ops_s"], gen2))
    res["rss_end"] = pyscan.rss_bytes()
    if args.mode == "agent":
        recs = read_records(path)
        last = [r for r in recs if r.get("type") == "sample"]
        res["agent_total_samples"] = len(last)
        res["agent_max_gil_hold_ms_all"] = max(
            [r.get("max_gil_hold_ms") or 0 for r in last if r.get("seq", 0) > first_seq] or [0])
        res["agent_max_scan_cpu_ms_all"] = max(
            [r.get("scan_cpu_ms") or 0 for r in last if r.get("seq", 0) > first_seq] or [0])
    return res


# ---- the table ------------------------------------------------------------------------

def fmt(v, spec="%.2f"):
    if v is None:
        return "n/a"
    if isinstance(v, int) and spec == "%.2f":
        return str(v)
    return spec % v


def final_sample(record_dir):
    """The agent's final (atexit) sample in record_dir, or None."""
    if not record_dir or not os.path.isdir(record_dir):
        return None
    final = None
    for name in sorted(os.listdir(record_dir)):
        if name.endswith(".jsonl"):
            for r in read_records(os.path.join(record_dir, name)):
                if r.get("type") == "sample" and r.get("final"):
                    final = r
    return final


def table(a, b, record_dir=None, out=sys.stdout):
    """Side-by-side: a = pyscan run (no agent), b = agent run; record_dir
    holds the agent run's recording (for its final sample)."""
    p = functools.partial(print, file=out)
    ps, ag = a["pyscan"], b.get("agent") or {}
    mib = 2**20
    has_agent = bool(ag)
    rows = [
        ("scan wall ms (median / max)", fmt(ps["scan_ms"]),
         "%s / %s" % (fmt(ag.get("scan_ms")), fmt(ag.get("scan_ms_max")))),
        ("scan CPU ms (median / max)", fmt(ps["scan_cpu_ms"]),
         "%s / %s" % (fmt(ag.get("scan_cpu_ms")), fmt(ag.get("scan_cpu_ms_max")))),
        ("ns per entry (CPU)", fmt(ps["ns_per_entry"], "%.1f"), fmt(ag.get("ns_per_entry"), "%.1f")),
        ("longest GIL hold ms", fmt(ps["max_gil_hold_ms"]), fmt(ag.get("max_gil_hold_ms"))),
        ("GIL holds per sample", str(ps["gil_holds"]), fmt(ag.get("gil_holds"), "%g")),
        ("wrappers", str(ps["wrappers"]), fmt(ag.get("wrappers"), "%d")),
        ("entries", str(ps["entries"]), fmt(ag.get("entries"), "%d")),
        ("selves", str(ps["selves"]), fmt(ag.get("selves"), "%d")),
        ("pinned", str(ps["pinned"]), fmt(ag.get("pinned"), "%d")),
        ("scanner memory MiB", "%.1f (RSS growth)" % (ps["mem_bytes"] / mib),
         "%s (agent_mem_bytes)" % fmt((ag.get("agent_mem_bytes") or 0) / mib
                                      if ag.get("agent_mem_bytes") is not None else None)),
        ("process RSS MiB (heap built)", "%.1f (no agent)" % (a["rss_built"] / mib),
         "%.1f (%+.1f vs no agent)" % (b["rss_sampled"] / mib,
                                        (b["rss_sampled"] - a["rss_built"]) / mib)
         if has_agent else "n/a"),
    ]
    work = [("", "without agent", "with agent (interval %ss)" % b["interval"]
             if b.get("interval") else "with agent")]
    wa, wb = a.get("workload_ops_s"), b.get("workload_ops_s")
    if wa and wb:
        ba, bb = max(a["workload_rates"]), max(b["workload_rates"])
        work += [
            ("workload ops/s (overall)", "%d" % wa,
             "%d: slowdown %.1f%%" % (wb, (wa - wb) * 100.0 / wa)),
            ("workload ops/s (best repeat)", "%d" % ba,
             "%d: slowdown %.1f%%" % (bb, (ba - bb) * 100.0 / ba)),
            ("  each repeat, kops/s", " ".join("%d" % (r / 1e3) for r in a["workload_rates"]),
             " ".join("%d" % (r / 1e3) for r in b["workload_rates"]))]
    elif wa:
        work += [("workload ops/s (overall)", "%d" % wa, "n/a")]
    w0 = max(len(r[0]) for r in rows + work) + 2
    w1 = max(max(len(r[1]) for r in rows + work), len("pure-Python scanner")) + 2
    line = "-" * (w0 + w1 + max(len(r[2]) for r in rows + work))
    p("%-*s%-*s%s" % (w0, "", w1, "pure-Python scanner", "lruleak agent"))
    p(line)
    for r in rows:
        p("%-*s%-*s%s" % (w0, r[0], w1, r[1], r[2]))
    p(line)
    for r in work:
        p("%-*s%-*s%s" % (w0, r[0], w1, r[1], r[2]))
    try:
        with open("/proc/loadavg") as f:
            p("load average after the runs: %s (other processes inflate wall times and GIL holds)"
              % " ".join(f.read().split()[:3]))
    except OSError:
        pass
    p("")
    if has_agent:
        p("samples used: %s (seq %s, %s full); agent samples during the whole run: %s; "
          "max over all of them: CPU %s ms, GIL hold %s ms"
          % (ag.get("n"), ag.get("seqs"), ag.get("full"), b.get("agent_total_samples"),
             fmt(b.get("agent_max_scan_cpu_ms_all")), fmt(b.get("agent_max_gil_hold_ms_all"))))
    exp = a["expected"]
    p("expected by construction (benchmark caches): entries %d, selves %d, pinned %d"
      % tuple(sum(e[f] for e in exp.values()) for f in ("entries", "selves", "pinned")))
    if ag:
        cpu_ok = ag.get("scan_cpu_ms_max") is not None and ag["scan_cpu_ms_max"] < 50
        gil_ok = ag.get("max_gil_hold_ms") is not None and ag["max_gil_hold_ms"] <= 5
        p("target scan CPU < 50 ms per sample of %s entries: %s (max %s ms)"
          % (fmt(ag.get("entries"), "%d"), "MET" if cpu_ok else "MISSED",
             fmt(ag.get("scan_cpu_ms_max"))))
        p("target longest GIL hold <= 5 ms: %s (%s ms)"
          % ("MET" if gil_ok else "MISSED", fmt(ag.get("max_gil_hold_ms"))))
        # Counts: the agent's last sample vs the pure-Python scanner run in
        # the same process, and vs the no-agent run and the construction.
        same = b.get("count_diffs") or []
        cross = compare_rows(a["pyscan_caches"], b.get("agent_caches", []))
        bench_rows = {k: v for k, v in rows_by_name(b.get("agent_caches", [])).items()
                      if k.startswith("__main__:")}
        exp_diff = [n for n, e in exp.items()
                    if bench_rows.get("__main__:" + n, {}).get("entries") != e["entries"]
                    or bench_rows.get("__main__:" + n, {}).get("selves") != e["selves"]
                    or bench_rows.get("__main__:" + n, {}).get("pinned") != e["pinned"]]
        if not same and not cross and not exp_diff:
            p("counts: AGREE (agent = pure-Python scanner, per cache row, in the same process "
              "and across runs; benchmark rows = construction)")
        else:
            p("counts: DISAGREE")
            for title, diffs in (("same process", same), ("across runs", cross)):
                for name, ra, rb in diffs:
                    p("  %s: %s pyscan=%s agent=%s" % (title, name, ra, rb))
            for n in exp_diff:
                p("  vs construction: %s expected=%s agent=%s"
                  % (n, exp[n], bench_rows.get("__main__:" + n)))
        if b.get("pyscan"):
            q = b["pyscan"]
            p("pure-Python scanner in the agent's process (refcounts read 2 ms after a sample "
              "line appeared, waited %s ms for it): entries %d, selves %d, pinned %d"
              % (b.get("pyscan_gap_wait_ms"), q["entries"], q["selves"], q["pinned"]))
        fin = final_sample(record_dir)
        if fin:
            fd = compare_rows(a["pyscan_caches"], fin.get("caches", []))
            p("agent's final sample at exit (full=%s): scan %s ms, CPU %s ms, longest GIL hold "
              "%s ms in %s holds, %s wrappers, entries %d, selves %d, pinned %d: %s"
              % (fin.get("full"), fmt(fin.get("scan_ms")), fmt(fin.get("scan_cpu_ms")),
                 fmt(fin.get("max_gil_hold_ms")), fin.get("gil_holds"), fin.get("wrappers"),
                 sample_entries(fin), sum(c.get("selves", 0) for c in fin.get("caches", [])),
                 sum(c.get("pinned", 0) for c in fin.get("caches", [])),
                 "counts agree with the pure-Python scanner" if not fd else
                 "counts DIFFER: " + "; ".join("%s pyscan=%s agent=%s" % d for d in fd)))
    else:
        p("agent: no figures (no agent, or its run failed)")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--mode", choices=("pyscan", "agent"), default="pyscan")
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--entries-per-instance", type=int, default=10)
    ap.add_argument("--keep-every", type=int, default=10,
                    help="keep every Nth instance of each class alive (not pinned); 0: none")
    ap.add_argument("--no-extras", action="store_true",
                    help="no ordinary objects, classes and extra caches")
    ap.add_argument("--samples", type=int, default=5,
                    help="agent samples of the built heap to wait for")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--workload-ops", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", metavar="FILE", help="write the results there")
    ap.add_argument("--table", nargs=2, metavar=("PYSCAN_JSON", "AGENT_JSON"),
                    help="print the side-by-side table of two runs and exit")
    ap.add_argument("--record", metavar="DIR",
                    help="with --table: the agent run's LRULEAK_RECORD directory")
    args = ap.parse_args(argv)
    if args.table:
        with open(args.table[0]) as f:
            a = json.load(f)
        b = {}
        if os.path.exists(args.table[1]) and os.path.getsize(args.table[1]):
            with open(args.table[1]) as f:
                b = json.load(f)
        table(a, b, args.record)
        return 0 if b.get("agent") else 1
    res = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
