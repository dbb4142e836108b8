# SPDX-License-Identifier: MIT
"""Victim: a leak that grows in steps, for the HTML report and --trace-alloc.

Order.handle is an unbounded method cache: every Order it sees stays
pinned. Each step makes --per new Orders (in make_order(), the line marked
ORDER_SITE), calls handle() on each and sleeps --sleep seconds, so the
pinned count climbs by --per per step. Ticket.price (maxsize 8) pins the
last 8 Tickets. With --self-only, Order.total (a method of self alone)
pins the same Orders. --fake-cached-method sets functools.cached_method
(a stand-in for a future CPython's). With --hostile, a cache whose qualname carries markup
(<script>, an <img onerror>) pins objects too, and argv carries markup.

--early N makes N Orders first; --wait-trace then waits (at most 60 s)
until tracemalloc traces (the agent starts it under --trace-alloc);
--restart-trace F then stops tracemalloc (the early Orders lose their
tracebacks: "unknown") and starts the program's own session with F frames,
which the agent must reuse, not restart.

At the end it writes its ground truth as JSON to --truth FILE:
{"site_line": <line of ORDER_SITE>, "file": <this file>, "early": N,
 "pinned": {"Order.handle": n, ...}} where n comes from weak references:
the caches are cleared, gc.collect() runs, and the objects that died are
the ones only the caches kept alive. It clears nothing before exiting
otherwise: the agent's final sample sees the caches full.
"""
import argparse
import functools
import gc
import json
import os
import sys
import time
import tracemalloc
import weakref

KEEP = []  # objects the program keeps on purpose: cached, never pinned


class Order:
    def __init__(self, n):
        self.n = n
        self.payload = bytearray(256)

    @functools.lru_cache(maxsize=None)
    def handle(self, k):
        return self.n * k

    @functools.lru_cache(maxsize=None)
    def total(self):
        return self.n * 2


class Ticket:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=8)
    def price(self, k):
        return self.n + k


def make_order(n):
    return Order(n)  # ORDER_SITE


def traced(make, *args):
    """make(*args), and whether tracemalloc traced at the time: True, False
    or None (it started in between: ambiguous)."""
    before = tracemalloc.is_tracing()
    o = make(*args)  # MAKE_SITE
    after = tracemalloc.is_tracing()
    return o, before if before == after else None


def hostile_cache():
    """A class and a cached method whose names carry markup."""
    def m(self, k):
        return k
    evil = type('<script>document.title="pwned"</script>', (), {})
    m.__qualname__ = '"><img src=x onerror="document.title=\'pwned\'">.' + \
        '<script>document.title="pwned"</script>'
    evil.m = functools.lru_cache(maxsize=None)(m)
    return evil, evil.m


def site_line(marker="# ORDER_SITE"):
    with open(__file__, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.rstrip().endswith(marker):
                return i
    raise RuntimeError("no %s line" % marker)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--per", type=int, default=20)
    ap.add_argument("--sleep", type=float, default=0.3)
    ap.add_argument("--early", type=int, default=0)
    ap.add_argument("--wait-trace", action="store_true")
    ap.add_argument("--restart-trace", type=int, default=0, metavar="FRAMES")
    ap.add_argument("--hostile", action="store_true")
    ap.add_argument("--self-only", action="store_true")
    ap.add_argument("--fake-cached-method", action="store_true")
    ap.add_argument("--tag", default="")
    ap.add_argument("--truth", required=True)
    args = ap.parse_args()
    if args.fake_cached_method:
        # Stands in for a future CPython's functools.cached_method: the
        # agent must notice it at run time.
        functools.cached_method = functools.lru_cache

    refs = {"Order.handle": [], "Ticket.price": [], "hostile": []}
    # weakref id -> the innermost frame of its allocation: "file:line",
    # "unknown" (made while nothing traced) or "ambiguous"
    where = {}
    here = __file__  # as the code objects (and tracemalloc) name it

    def note(key, r, site, was_traced):
        refs[key].append(r)
        where[id(r)] = site if was_traced else "unknown" if was_traced is False else "ambiguous"

    # Ticket() and evil_cls() allocate in traced() itself (a class call
    # runs no Python frame of its own); Order() inside make_order().
    order_site = "%s:%d" % (here, site_line())
    make_site = "%s:%d" % (here, site_line("# MAKE_SITE"))
    for i in range(args.early):
        o, was = traced(make_order, -1 - i)
        o.handle(1)
        note("Order.handle", weakref.ref(o), order_site, was)
    if args.wait_trace:
        print("EARLY DONE", flush=True)  # a test may attach now
        deadline = time.monotonic() + 60
        while not tracemalloc.is_tracing() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not tracemalloc.is_tracing():
            print("grow: tracemalloc never started", file=sys.stderr)
            sys.exit(3)

    if args.restart_trace:
        # The program's own session: stop the agent's (every trace so far
        # is gone: the objects made until now have no traceback), start
        # one with FRAMES frames, which the agent must reuse as it is.
        tracemalloc.stop()
        for k in where:
            where[k] = "unknown"
        tracemalloc.start(args.restart_trace)

    evil_cls, evil_m = (None, None)
    if args.hostile:
        evil_cls, evil_m = hostile_cache()
    n = 0
    for step in range(args.steps):
        for _ in range(args.per):
            o, was = traced(make_order, n)
            o.handle(2)
            if args.self_only:
                o.total()
            note("Order.handle", weakref.ref(o), order_site, was)
            if n % 10 == 0:
                KEEP.append(o)  # cached but still used: not pinned
            t, was = traced(Ticket, n)
            t.price(1)
            note("Ticket.price", weakref.ref(t), make_site, was)
            if evil_cls is not None:
                e, was = traced(evil_cls)
                e.m(n)
                note("hostile", weakref.ref(e), make_site, was)
            n += 1
        del o, t
        e = None
        time.sleep(args.sleep)
    write_truth(args, refs, where, len(KEEP), n, [Order.handle, Order.total, Ticket.price] +
                ([evil_m] if evil_m is not None else []))


def write_truth(args, refs, where, kept, made, caches):
    """Ground truth, computed in a forked child so that this process keeps
    its caches full for the agent's final sample (the test sets
    LRULEAK_FOLLOW_FORKS=0: the child has no agent). The child notes where
    each live object was allocated (tracemalloc, innermost frame), clears
    every cache, runs gc.collect() and counts the objects that died: those
    only the caches kept alive. The allocation sites come from the program
    itself (where it made each object, and whether tracemalloc traced then),
    not from tracemalloc."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sites = {k: {} for k in refs}
            alive = {id(r) for v in refs.values() for r in v if r() is not None}
            for c in caches:
                c.cache_clear()
            gc.collect()
            pinned = {}
            for k, v in refs.items():
                dead = [r for r in v if r() is None and id(r) in alive]
                pinned[k] = len(dead)
                for r in dead:
                    sites[k][where[id(r)]] = sites[k].get(where[id(r)], 0) + 1
            truth = {"site_line": site_line(), "frames": tracemalloc.get_traceback_limit(), "file": __file__,
                     "early": args.early, "made": made, "kept": kept,
                     "pinned": pinned, "sites": sites}
            with open(args.truth, "w", encoding="utf-8") as f:
                json.dump(truth, f)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        print("grow: the truth child failed", file=sys.stderr)
        sys.exit(4)


if __name__ == "__main__":
    main()
