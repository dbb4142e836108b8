# SPDX-License-Identifier: MIT
"""Ground truth for the e2e victims (imported by every scenarios/*.py victim).

A victim builds its state, registers every lru_cache wrapper it cares about
with Truth.cache() and every object that may end up as a cache key's first
argument with Truth.track(), then calls Truth.ready_and_wait(): it prints
READY and blocks on stdin. The test takes its snapshot, writes "go", and the
victim prints Truth.compute() as one JSON line:

  {"<qualname>": {"module", "kind", "file", "line", "def_line", "maxsize",
                  "typed", "wrappers", "entries", "hits", "misses", "selves",
                  "pinned", "pinned_bytes", "self_only"}, ...}

How the numbers are obtained, without trusting the agent's algorithm:
- file/line: co_filename and co_firstlineno of the cached function (for a
  decorated function that is the line of its first decorator); def_line is
  the line of the `def` below the decorators (README's example shows it);
- entries/hits/misses come from cache_info() of the live wrappers;
- selves: the cache dict is read through gc.get_referents(wrapper) (the C
  lru_cache traverses it); the first argument of each key is taken the way
  agent/README.md defines it (key[0], or the first keyword value when the key starts
  with the keyword marker), excluding classes, modules, None, bool, int,
  float, complex, str, bytes, tuple and frozenset; counted by identity;
- self_only: every key is a 1-tuple holding a self (the first argument and
  nothing else);
- pinned: every registered cache is cleared together, gc.collect() runs, and
  the tracked objects that died are exactly those that only the caches kept
  alive. A cache's pinned count is |its selves & died| (an object counts for
  every cache that holds it). pinned_bytes sums sys.getsizeof(obj.payload)
  and what Truth.held() declared over those objects (a lower bound for
  retained_bytes).

Objects are remembered through weak references only, and per-instance
wrappers too, so the bookkeeping itself pins nothing. A victim that sees an
object it did not track as a first argument raises: its truth would be
incomplete. If stdin reaches EOF instead of "go" (the test died), the victim
exits quietly with status 2.
"""
import functools
import gc
import json
import linecache
import sys
import time
import types
import weakref

if sys.version_info < (3, 9):
    # 3.8 lacks what the truth reads: functools.cache, cache_parameters()
    # and weak references to wrappers (bpo-40504). Give 3.8's lru_cache the
    # 3.9 behaviour (the same wrapper type; cache_parameters in its
    # __dict__). The function remembers its wrapper, a cycle that dies with
    # the wrapper, so a weak reference to it is a weak reference to the
    # wrapper (Truth.cache).
    _lru_cache38 = functools.lru_cache

    def _with_parameters(wrapper, maxsize, typed):
        def cache_parameters():
            return {"maxsize": maxsize, "typed": typed}
        cache_parameters.wrapper = wrapper
        wrapper.cache_parameters = cache_parameters
        return wrapper

    def _lru_cache(maxsize=128, typed=False):
        if callable(maxsize) and isinstance(typed, bool):
            return _with_parameters(_lru_cache38(maxsize, typed), 128, typed)
        decorate = _lru_cache38(maxsize, typed)
        if isinstance(maxsize, int) and maxsize < 0:
            maxsize = 0
        return lambda func: _with_parameters(decorate(func), maxsize, typed)

    functools.lru_cache = _lru_cache
    functools.cache = lambda func: _lru_cache(maxsize=None)(func)


def _weak_wrapper(wrapper):
    """A callable returning the wrapper while it lives, then None."""
    if sys.version_info >= (3, 9):
        return weakref.ref(wrapper)
    if "cache_parameters" not in wrapper.__dict__:
        # Decorated before this module was imported (short.py imports it
        # late): typed is not known on 3.8; a typed cache would make the
        # truth disagree with the agent, loudly.
        _with_parameters(wrapper, wrapper.cache_info().maxsize, False)
    ref = weakref.ref(wrapper.cache_parameters)
    return lambda: getattr(ref(), "wrapper", None)


NOT_SELF = (type, types.ModuleType, type(None), bool, int, float, complex,
            str, bytes, tuple, frozenset)


def _find_kwd_mark():
    """The marker lru_cache puts between positional and keyword arguments."""
    probe = functools.lru_cache(maxsize=None)(lambda **kw: 0)
    probe(k=1)
    (key,) = _cache_dict(probe).keys()
    probe.cache_clear()
    return key[0]


def _cache_dict(wrapper):
    attrs = wrapper.__dict__
    refs = gc.get_referents(wrapper)
    dicts = [r for r in refs if type(r) is dict and r is not attrs]
    if len(dicts) == 1:
        return dicts[0]
    # Cached results that are dicts too (a bounded cache traverses its
    # links' keys and results first): the cache dict is the fixed field
    # next to the function, after the links (3.10+: cache, func, ...;
    # 3.8/3.9: func, cache, ...).
    func = wrapper.__wrapped__
    for i in range(len(refs) - 1, 0, -1):
        if sys.version_info >= (3, 10) and refs[i] is func and type(refs[i - 1]) is dict:
            return refs[i - 1]
        if sys.version_info < (3, 10) and refs[i - 1] is func and type(refs[i]) is dict:
            return refs[i]
    raise RuntimeError("cannot find the cache dict of %r" % (wrapper,))


def _code_of(wrapper):
    """Code object of the function a wrapper caches (a bound method's too)."""
    func = wrapper.__wrapped__
    return getattr(func, "__func__", func).__code__


def _def_line(code):
    """Line of the `def` itself (co_firstlineno is the first decorator's)."""
    line = code.co_firstlineno
    while True:
        text = linecache.getline(code.co_filename, line).lstrip()
        if not text or text.startswith(("def ", "async def ")) or not text.startswith("@"):
            return line
        line += 1


KWD_MARK = _find_kwd_mark()


def first_arg(key):
    """First argument of a cache key, or None when there is none."""
    if type(key) is not tuple:
        return key          # single str/int argument: the key is the argument
    if not key:
        return None
    if key[0] is KWD_MARK:  # no positional arguments: first keyword value
        return key[2] if len(key) > 2 else None
    return key[0]


def is_self_candidate(obj):
    return obj is not None and not isinstance(obj, NOT_SELF)


class Truth:
    def __init__(self):
        self.refs = {}        # id -> weakref to a tracked object
        self.payload = {}     # id -> sys.getsizeof(obj.payload)
        self.wrappers = []    # (weak reference to a wrapper, kind)
        self.static = {}      # id -> immortal first arguments

    def track(self, obj):
        self.refs[id(obj)] = weakref.ref(obj)
        payload = getattr(obj, "payload", None)
        if isinstance(payload, (bytes, bytearray)):
            self.payload[id(obj)] = sys.getsizeof(payload)
        return obj

    def held(self, obj, nbytes):
        """Bytes that go with a tracked object besides its payload (what
        its own per-instance caches hold): added to pinned_bytes, the lower
        bound for retained_bytes."""
        self.payload[id(obj)] = self.payload.get(id(obj), 0) + nbytes
        return obj

    def track_static(self, obj):
        """A first argument that cannot die and takes no weak reference
        (Ellipsis, NotImplemented): a self that is never pinned."""
        self.static[id(obj)] = obj
        return obj

    def cache(self, wrapper, kind):
        self.wrappers.append((_weak_wrapper(wrapper), kind))
        return wrapper

    def ready_and_wait(self):
        # No unreachable garbage may survive into the snapshot. A sample the
        # agent is taking holds a reference to every wrapper it reads: a
        # dropped cycle through a per-instance cache looks referenced to a
        # gc.collect() that runs meanwhile. Collect again after samples had
        # time to end (and their pending calls to run).
        gc.collect()
        for _ in range(2):
            time.sleep(0.1)
            sum(range(100))
            gc.collect()
        print("READY", flush=True)
        line = sys.stdin.readline()
        if line.strip() != "go":
            sys.exit(2)

    def _rows(self):
        rows = {}
        firsts = {}
        for ref, kind in self.wrappers:
            w = ref()
            if w is None:
                continue
            qualname = w.__qualname__
            row = rows.get(qualname)
            if row is None:
                if hasattr(w, "cache_parameters"):
                    params = w.cache_parameters()
                else:
                    # 3.8 (cache_parameters came in 3.9): maxsize from
                    # cache_info; typed is not exposed, taken as False.
                    params = {"maxsize": w.cache_info().maxsize, "typed": False}
                code = _code_of(w)
                row = rows[qualname] = {
                    "module": w.__module__, "kind": kind,
                    "file": code.co_filename, "line": code.co_firstlineno,
                    "def_line": _def_line(code),
                    "maxsize": params["maxsize"], "typed": params["typed"],
                    "wrappers": 0, "entries": 0, "hits": 0, "misses": 0,
                    "self_only": True}
                firsts[qualname] = set()
            elif row["kind"] != kind:
                raise RuntimeError("%s registered with two kinds" % qualname)
            info = w.cache_info()
            row["wrappers"] += 1
            row["entries"] += info.currsize
            row["hits"] += info.hits
            row["misses"] += info.misses
            for key in list(_cache_dict(w)):
                obj = first_arg(key)
                if not (type(key) is tuple and len(key) == 1 and is_self_candidate(obj)):
                    row["self_only"] = False
                if not is_self_candidate(obj):
                    continue
                ref_obj = self.refs.get(id(obj))
                if self.static.get(id(obj)) is obj:
                    pass
                elif ref_obj is None or ref_obj() is not obj:
                    raise RuntimeError("untracked first argument %r in %s" % (obj, qualname))
                firsts[qualname].add(id(obj))
            w = key = obj = None  # hold no object past this iteration
        return rows, firsts

    def compute(self):
        gc.collect()
        rows, firsts = self._rows()
        alive = {i for i, r in self.refs.items() if r() is not None}
        for ref, _ in self.wrappers:
            w = ref()
            if w is not None:
                w.cache_clear()
            w = None
        gc.collect()
        # A sample the agent is taking right now holds one reference to each
        # object it walks until it ends (and hands the last one back to this
        # thread as a pending call): those are the agent's, not the
        # program's. Let such a sample finish, run the pending call, and
        # collect again before counting.
        time.sleep(0.3)
        sum(range(100))  # some bytecode, so a pending call runs here
        gc.collect()
        died = {i for i in alive if self.refs[i]() is None}
        for qualname, row in rows.items():
            mine = firsts[qualname]
            row["self_only"] = row["self_only"] and row["entries"] > 0
            row["selves"] = len(mine)
            row["pinned"] = len(mine & died)
            row["pinned_bytes"] = sum(self.payload.get(i, 0) for i in mine & died)
        return rows

    def compute_live(self, *kept):
        """The truth of a process that keeps running: nothing is cleared.

        For a program that knows exactly which of its tracked objects it
        still references itself (`kept`), an object that is alive after
        gc.collect() but not kept is kept alive only by the caches. Call it
        while no cached call is running (the rows must hold still)."""
        gc.collect()
        rows, firsts = self._rows()
        kept_ids = {id(o) for o in kept}
        alive = {i for i, r in self.refs.items() if r() is not None}
        for qualname, row in rows.items():
            mine = firsts[qualname]
            pinned = (mine & alive) - kept_ids
            row["self_only"] = row["self_only"] and row["entries"] > 0
            row["selves"] = len(mine)
            row["pinned"] = len(pinned)
            row["pinned_bytes"] = sum(self.payload.get(i, 0) for i in pinned)
        return rows

    def finish(self, *keep):
        """Print the truth line; `keep` are the program's live references,
        held across compute() so they stay alive while it counts."""
        print(json.dumps(self.compute(), sort_keys=True), flush=True)
        return keep
