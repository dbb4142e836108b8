#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pyscan: a pure-Python lru_cache scanner, the reference the agent is compared to.

It computes, with nothing but gc.get_objects() and gc.get_referents(), the
counts the lruleak agent puts in a sample: for every functools lru_cache
wrapper (functools.cache and functools.lru_cache alike), the number of cache
entries, the distinct "selves" (the first element of the tuple keys) and how
many of those are pinned (kept alive by cache keys and nothing else).

Definitions (the agent's contract, written down so both sides can be checked):

- wrapper: every object whose type is exactly functools._lru_cache_wrapper
  among gc.get_objects().
- cache dict: the dict among gc.get_referents(wrapper) that is not the
  wrapper's __dict__ and whose len() equals cache_info().currsize.  For a
  bounded cache its values are functools._lru_list_elem links (and the
  referents also list each entry's key and result, before the dict: the
  last matching dict is the cache).
- keyword marker: the bare object() the wrapper keeps to separate keyword
  arguments in its keys (a referent of exact type object).  A key whose
  first element is the marker was built from keyword arguments only, the
  "self" is then the element after the first name: key[2].
- self: that first element (or key[2]), unless it is a class, a module, or of
  exact type NoneType, bool, int, float, complex, str, bytes, tuple or
  frozenset.  Keys that are not tuples (lru_cache stores a lone str or int
  argument bare) have no self.  selves = distinct objects by id().
- pinned: a self whose sys.getrefcount() equals the number of references the
  cache keys of *all* wrappers hold to it (each occurrence in a key tuple, in
  any position, counts one) plus the references the scanner itself holds
  while it measures.  That constant is not guessed: calibrate() runs the very
  same code on a fresh cache that pins one object with one key and reads it.
- rows: caches are aggregated like the agent's sample rows, keyed by module,
  qualname, file, line and kind (per-instance caches make one wrapper per
  instance); selves and pinned of a row are the distinct objects over its
  wrappers.  Rows with no entries are left out, as in a sample.

It holds the GIL for the whole scan: its longest GIL hold is the scan itself.

Use it as a module (scan() returns a dict shaped like an agent sample) or
run it:

    python3 scripts/pyscan.py [--json] [script.py [args...]]

which runs the script as __main__ (if given), then scans the process and
prints the counts.
"""
import functools
import gc
import json
import os
import sys
import time
import types

WRAPPER_TYPE = functools._lru_cache_wrapper

# Exact types whose instances never count as a "self".
NOT_SELF_TYPES = frozenset((type(None), bool, int, float, complex, str, bytes,
                            tuple, frozenset))


def _eligible(obj):
    """True when obj can be a self (see the module docstring)."""
    t = type(obj)
    if t in NOT_SELF_TYPES:
        return False
    if isinstance(obj, (type, types.ModuleType)):
        return False
    return True


def rss_bytes():
    """VmRSS of this process from /proc/self/status, in bytes (0 if unknown)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---- per-wrapper helpers ----------------------------------------------------
# Each helper is a separate function so that its locals (the last key, the
# last self, the referents list, which can hold results) are gone when it
# returns: a stray local would add a reference to one object and make it look
# not pinned.

def _find_cache(wrapper):
    """Return (cache_dict, kwd_mark) for wrapper; cache_dict is None if not found."""
    try:
        currsize = wrapper.cache_info().currsize
    except Exception:
        return None, None
    try:
        wdict = wrapper.__dict__
    except AttributeError:
        wdict = None
    refs = gc.get_referents(wrapper)
    cache = None
    kwd = None
    for r in refs:
        t = type(r)
        if t is dict:
            if r is not wdict and len(r) == currsize:
                cache = r          # the last one: links come before the dict
        elif t is object:
            kwd = r
    del refs
    return cache, kwd


def _kind(wrapper):
    """Best-effort kind, as in a sample: method, classmethod, staticmethod,
    function or per-instance."""
    wrapped = getattr(wrapper, "__wrapped__", None)
    if isinstance(wrapped, types.MethodType):
        return "per-instance"
    qualname = getattr(wrapper, "__qualname__", "") or ""
    parts = qualname.split(".")
    if len(parts) < 2 or "<locals>" in parts[:-1]:
        return "function"
    # Resolve the owner class from the function's own globals: this works
    # for scripts run by runpy too, whose __main__ is not in sys.modules.
    g = getattr(getattr(wrapped, "__func__", wrapped), "__globals__", None)
    owner = g.get(parts[0]) if isinstance(g, dict) else None
    for p in parts[1:-1]:
        owner = getattr(owner, p, None)
    if owner is None:
        return "function"
    if not isinstance(owner, type):
        return "function"
    attr = owner.__dict__.get(parts[-1])
    if isinstance(attr, classmethod):
        return "classmethod"
    if isinstance(attr, staticmethod):
        return "staticmethod"
    return "method"


def _where(wrapper):
    wrapped = getattr(wrapper, "__wrapped__", None)
    wrapped = getattr(wrapped, "__func__", wrapped)
    code = getattr(wrapped, "__code__", None)
    if code is None:
        return None, None
    return code.co_filename, code.co_firstlineno


def _collect_keys(cache, kwd, objs, occ, kwd_marks):
    """Walk the keys of one cache dict.

    Adds every eligible object found in a key to objs (id -> object, one
    reference each) and occ (id -> references held by key tuples); returns the
    set of ids of this cache's selves.
    """
    keys = list(cache)           # a snapshot: a dict resized mid-walk raises
    selves = set()
    sel_add = selves.add
    occ_get = occ.get
    for key in keys:
        if type(key) is not tuple or not key:
            continue
        first = key[0]
        if first is kwd or (kwd is None and type(first) is object
                            and len(key) >= 3 and type(key[1]) is str):
            if len(key) < 3:
                continue
            first = key[2]
        if _eligible(first):
            sel_add(id(first))
        for el in key:
            if type(el) in NOT_SELF_TYPES or el is kwd:
                continue
            i = id(el)
            n = occ_get(i)
            if n is None:
                if isinstance(el, (type, types.ModuleType)) or i in kwd_marks:
                    continue
                objs[i] = el
                occ[i] = 1
            else:
                occ[i] = n + 1
    return selves


def _refcounts(objs, occ):
    """id -> sys.getrefcount(obj) - references from cache keys."""
    extra = {}
    getrefcount = sys.getrefcount
    for i, obj in objs.items():
        extra[i] = getrefcount(obj) - occ[i]
    return extra


def _analyse(wrappers, overhead, before_refcounts=None):
    """The scan proper, shared by scan() and calibrate().

    Returns (rows, totals_distinct, extra) where extra maps id(self) to its
    refcount minus cache-key references; with overhead known, pinned means
    extra == overhead.
    """
    objs = {}
    occ = {}
    kwd_marks = set()
    per_wrapper = []
    for w in wrappers:
        cache, kwd = _find_cache(w)
        if kwd is not None:
            kwd_marks.add(id(kwd))
        if cache is None:
            per_wrapper.append((w, 0, set(), False))
            continue
        entries = len(cache)
        selves = _collect_keys(cache, kwd, objs, occ, kwd_marks) if entries else set()
        per_wrapper.append((w, entries, selves, True))
        del cache, kwd
    if before_refcounts is not None:
        before_refcounts()
    extra = _refcounts(objs, occ)
    objs.clear()
    del objs

    rows = {}
    found = 0
    for w, entries, selves, ok in per_wrapper:
        found += ok
        if not entries:
            continue
        filename, line = _where(w)
        kind = _kind(w)
        key = (getattr(w, "__module__", None), getattr(w, "__qualname__", None),
               filename, line, kind)
        row = rows.get(key)
        if row is None:
            info = w.cache_info()
            params = w.cache_parameters() if hasattr(w, "cache_parameters") else {}
            row = rows[key] = {
                "qualname": key[1], "module": key[0], "file": filename, "line": line,
                "kind": kind, "maxsize": info.maxsize, "typed": params.get("typed"),
                "entries": 0, "hits": 0, "misses": 0, "wrappers": 0,
                "_selves": set()}
        info = w.cache_info()
        row["entries"] += entries
        row["hits"] += info.hits
        row["misses"] += info.misses
        row["wrappers"] += 1
        row["_selves"] |= selves
    all_selves = set()
    for row in rows.values():
        s = row.pop("_selves")
        all_selves |= s
        row["selves"] = len(s)
        row["pinned"] = (sum(1 for i in s if extra[i] == overhead)
                         if overhead is not None else None)
    distinct = {"selves": len(all_selves),
                "pinned": (sum(1 for i in all_selves if extra[i] == overhead)
                           if overhead is not None else None),
                "wrappers_found": found}
    return list(rows.values()), distinct, {i: extra[i] for i in all_selves}


# ---- calibration --------------------------------------------------------------

_overhead = None


def calibrate():
    """Measure the scanner's own references to a self while it measures.

    Builds a fresh cache holding exactly one key (obj, 1) with obj referenced
    by nothing else, runs _analyse() on it and returns refcount - 1.
    """
    global _overhead

    class Canary:
        def m(self, x):
            return x
    Canary.m = functools.lru_cache(maxsize=None)(Canary.m)
    Canary().m(1)
    wrapper = Canary.__dict__["m"]
    rows, _distinct, extra = _analyse([wrapper], None)
    if len(extra) != 1 or rows[0]["entries"] != 1 or rows[0]["selves"] != 1:
        raise RuntimeError("pyscan: calibration found %r / %r" % (rows, extra))
    (value,) = extra.values()
    wrapper.cache_clear()
    # Check on a second, unbounded-free path: a bounded cache, keyword-only
    # key (kwd marker first), object also referenced twice by keys.
    Canary.k = functools.lru_cache(maxsize=4)(lambda self, y=0: y)
    o = Canary()
    Canary.k(self=o, y=1)
    Canary.k(o, 2)
    del o
    rows, _distinct, extra2 = _analyse([Canary.__dict__["k"]], None)
    Canary.k.cache_clear()
    if list(extra2.values()) != [value]:
        raise RuntimeError("pyscan: calibration is path-dependent: %r vs %r"
                           % (value, extra2))
    _overhead = value
    return value


# ---- the scan -------------------------------------------------------------------

def scan(before_refcounts=None):
    """Scan the whole process; return a dict shaped like an agent sample.

    before_refcounts, if given, is called (with no arguments) right before the
    refcounts are read: a caller sharing the process with another scanner
    that holds references while it works (the agent) can wait there for it
    to be idle.

    Figures: scan_ms (wall), scan_cpu_ms (this thread's CPU time),
    max_gil_hold_ms (= scan_ms: the scan never releases the GIL on purpose),
    gil_holds (1), mem_bytes (the RSS growth while the scanner's structures
    were alive), entries/selves/pinned totals (sums over rows, as in a
    sample) and the rows.
    """
    overhead = _overhead if _overhead is not None else calibrate()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    c0 = time.thread_time()
    everything = gc.get_objects()
    wrappers = [o for o in everything if type(o) is WRAPPER_TYPE]
    n_objects = len(everything)
    rss1 = rss_bytes()
    del everything          # it holds every GC-tracked self: drop it first
    rows, distinct, extra = _analyse(wrappers, overhead, before_refcounts)
    # How many selves have k references beyond the caches' and ours: k = 0
    # is pinned; a crowd at k = 1 means someone else held every self.
    hist = {}
    for v in extra.values():
        k = v - overhead
        hist[k] = hist.get(k, 0) + 1
    extra_hist = sorted(hist.items(), key=lambda kv: -kv[1])[:5]
    rss2 = rss_bytes()
    del wrappers, extra
    c1 = time.thread_time()
    t1 = time.perf_counter()
    scan_ms = (t1 - t0) * 1e3
    cpu_ms = (c1 - c0) * 1e3
    entries = sum(r["entries"] for r in rows)
    rows.sort(key=lambda r: (-r["entries"], r["module"] or "", r["qualname"] or ""))
    return {
        "type": "pyscan", "pid": os.getpid(), "python": sys.version.split()[0],
        "scan_ms": round(scan_ms, 3), "scan_cpu_ms": round(cpu_ms, 3),
        "max_gil_hold_ms": round(scan_ms, 3), "gil_holds": 1,
        "ns_per_entry": round(cpu_ms * 1e6 / entries, 1) if entries else None,
        "mem_bytes": max(rss1, rss2) - rss0,
        "gc_objects": n_objects, "wrappers": distinct["wrappers_found"],
        "refcount_overhead": overhead,
        "extra_refs_histogram": [[k, n] for k, n in extra_hist],
        "entries": entries,
        "selves": sum(r["selves"] for r in rows),
        "pinned": sum(r["pinned"] for r in rows),
        "distinct_selves": distinct["selves"],
        "distinct_pinned": distinct["pinned"],
        "caches": rows,
    }


def format_report(res, file=sys.stdout):
    p = functools.partial(print, file=file)
    p("pyscan: python %s, %d gc objects, %d wrappers, refcount overhead %d"
      % (res["python"], res["gc_objects"], res["wrappers"], res["refcount_overhead"]))
    p("  scan %.1f ms wall, %.1f ms CPU, %s ns/entry, longest GIL hold %.1f ms, "
      "RSS +%.1f MiB" % (res["scan_ms"], res["scan_cpu_ms"], res["ns_per_entry"],
                         res["max_gil_hold_ms"], res["mem_bytes"] / 2**20))
    p("  entries %d, selves %d, pinned %d (distinct selves %d, pinned %d); selves by "
      "references beyond the caches': %s"
      % (res["entries"], res["selves"], res["pinned"], res["distinct_selves"],
         res["distinct_pinned"],
         ", ".join("%+d: %d" % (k, n) for k, n in res["extra_refs_histogram"])))
    for r in res["caches"]:
        p("  %8d entries %7d selves %7d pinned  %-13s %s:%s (%s)"
          % (r["entries"], r["selves"], r["pinned"], r["kind"], r["module"],
             r["qualname"], "unbounded" if r["maxsize"] is None
             else "maxsize=%d" % r["maxsize"]))


def main(argv):
    as_json = False
    if argv and argv[0] == "--json":
        as_json = True
        argv = argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0])
        print("usage: pyscan.py [--json] [script.py [args...]]")
        return 0
    if argv:
        import runpy
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        # Keep the script's globals alive: runpy returns a copy and drops
        # its temporary module, which would free the script's classes (and
        # their caches) before the scan.
        script_globals = runpy.run_path(argv[0], run_name="__main__")
    res = scan()
    if as_json:
        json.dump(res, sys.stdout)
        print()
    else:
        format_report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
