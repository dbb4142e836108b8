# SPDX-License-Identifier: MIT
"""lruleak's pytest plugin: which test pinned which objects in lru caches.

Enabled by `lruleak run -- python3 -m pytest ...` (the CLI puts this
directory on PYTHONPATH and names the plugin in PYTEST_PLUGINS), or by hand
with `-p lruleak` when this directory is on the path.

Around every test (setup, call and teardown: pytest_runtest_protocol) it
asks the lruleak agent in this process for the objects that lru caches pin
(_lruleak.pinned_new(): a synchronous sample on this thread that is not
published; the agent learns of every lru wrapper as it is made, so it walks
no heap for it), and notes, per cache, the pinned objects that appeared during
the test and were still pinned at its end. An object counts as the same
one at both ends only if it is: a weak reference taken at the start must
still point to it (ids are reused once an object dies, e.g. after
cache_clear() or an eviction); objects that take no weak reference are
compared by id. Between two tests nothing else runs, so the end of one
test is the start of the next: one sample per test.

A check costs what the test changed, not what is pinned: when no cache lost
an entry since the last check (the agent's steady and growth samples),
pinned_new() returns only the objects pinned since, all of them new, and
every object pinned before is still pinned; only otherwise does it return
every pinned object, compared with the start one by one. The marks of what
was handed over are one per process: a session run inside another's test
(pytester's in-process runs) checks with pinned(False) instead.

Each test becomes one "test" record in the agent's recording (nodeid,
outcome, duration, and per cache the new pinned objects, with the reason
when allow-listed); the CLI applies the warm-up rule, blames, gates and
writes JUnit/SARIF from those. Allow-listing: the marker
@pytest.mark.lruleak_ignore("Qual.name", ...) (no name: every cache, for
that test), the ini option lruleak_ignore and the command-line option
--lruleak-ignore; names are fnmatch patterns matched against the
qualname and module.qualname.

The plugin never fails, skips or changes a test: when the agent is missing
or refuses this interpreter it records why (or, without a recording, says
so in the terminal summary) and stays out of the way. Without a recording
(the agent loaded by hand, no LRULEAK_RECORD) it prints the tests that
leaked in pytest's terminal summary instead.
"""
import fnmatch
import importlib.util
import json
import os
import sys
import time
import weakref

import pytest

IGNORE_MARKER = "lruleak_ignore"
# The session whose checks use pinned_new() (its marks of what was handed
# over are one per process); a session run inside it (pytester's in-process
# runs) checks with pinned(False), every object compared.
_MARKS_OWNER = []


def _load_agent():
    """The _lruleak module of the agent already in this process (preloaded by
    `lruleak run`), or loaded from LRULEAK_AGENT / the directory above this
    plugin. Nothing is added to sys.path."""
    mod = sys.modules.get("_lruleak")
    if mod is not None:
        return mod
    path = os.environ.get("LRULEAK_AGENT") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "liblruleak.so")
    spec = importlib.util.spec_from_file_location("_lruleak", path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load the lruleak agent from %s" % path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules["_lruleak"] = mod
    return mod


def _row_key(row):
    """A cache's identity, as the CLI's report keys its rows (a sample's row
    or a test record's cache entry)."""
    return (row["module"], row["qualname"], row["file"], row["line"], row["kind"])


class _Pinned:
    """The pinned objects of one sample, by identity only: per cache, the ids
    and a weak reference where the object takes one."""

    def __init__(self, rows):
        self.caches = {}
        self.add(rows)

    def add(self, rows):
        """These rows' objects too (after pinned_new() said they are the
        ones pinned since: then self becomes the new end)."""
        for row in rows:
            refs = self.caches.setdefault(_row_key(row), {})
            for obj in row["objects"]:
                try:
                    refs[id(obj)] = weakref.ref(obj)
                except TypeError:
                    refs[id(obj)] = None
        return self

    def is_same(self, key, obj):
        refs = self.caches.get(key)
        if refs is None or id(obj) not in refs:
            return False
        ref = refs[id(obj)]
        return ref is None or ref() is obj


class _Tracker:
    def __init__(self, config, agent, error=None):
        self.config = config
        self.agent = agent
        self.ignore = list(config.getini("lruleak_ignore") or [])
        self.ignore += list(config.getoption("lruleak_ignore") or [])
        self.pid = os.getpid()
        self.recording = False
        self.last = None        # _Pinned at the end of the previous test
        self.outcomes = {}      # nodeid -> [outcome, duration]
        self.leaks = []         # (nodeid, caches) for the terminal summary
        self.error = error
        self.tests = 0

    # ---- agent calls ------------------------------------------------------

    def _record(self, obj):
        obj["pid"] = self.pid
        self.recording = bool(self.agent.record(json.dumps(obj, separators=(",", ":"))))

    def _fail(self, what, exc):
        # Never let the plugin break the suite: note why, stop measuring.
        self.error = "%s: %s: %s" % (what, type(exc).__name__, exc)
        try:
            self._record({"type": "session", "event": "error", "reason": self.error})
        except Exception:
            pass

    # ---- allow-listing -----------------------------------------------------

    def _ignored(self, item, row):
        names = (row["qualname"], "%s.%s" % (row["module"], row["qualname"]))
        for mark in item.iter_markers(IGNORE_MARKER):
            if not mark.args:
                return "marker"
            if any(fnmatch.fnmatchcase(n, str(p)) for p in mark.args for n in names):
                return "marker"
        if any(fnmatch.fnmatchcase(n, p) for p in self.ignore for n in names):
            return "config"
        return None

    def _sample(self, first):
        """(every, rows): every pinned object (every True), or only those
        pinned since this session's last check."""
        if not _MARKS_OWNER:
            _MARKS_OWNER.append(self)
        if _MARKS_OWNER[0] is not self:
            return True, self.agent.pinned(False)
        return self.agent.pinned_new(first)

    def _new_pinned(self, item, start, rows, delta):
        """Per cache, the pinned objects of rows that start did not have
        (delta: rows hold only objects pinned since start, all new)."""
        caches = []
        for row in rows:
            key = _row_key(row)
            if delta:
                new = len(row["objects"])
            else:
                new = sum(1 for obj in row["objects"] if not start.is_same(key, obj))
            if new == 0:
                continue
            entry = {"module": row["module"], "qualname": row["qualname"],
                     "file": row["file"], "line": row["line"], "kind": row["kind"],
                     "maxsize": row["maxsize"], "new": new}
            reason = self._ignored(item, row)
            if reason is not None:
                entry["ignored"] = reason
            caches.append(entry)
        return caches

    # ---- hooks ---------------------------------------------------------------

    def pytest_sessionstart(self, session):
        if self.error is not None:
            return
        try:
            self._record({
                "type": "session", "event": "start", "runner": "pytest",
                "pytest": pytest.__version__,
                "worker": os.environ.get("PYTEST_XDIST_WORKER"),
                "ignore": self.ignore, "time": round(time.time(), 3)})
        except Exception as exc:
            self._fail("session start", exc)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        start = self.last
        if start is None and self.error is None:
            try:
                # Every pinned object, whatever an earlier session in this
                # process was handed.
                start = _Pinned(self._sample(True)[1])
            except Exception as exc:
                self._fail("sample before %s" % item.nodeid, exc)
        yield
        if self.error is not None:
            return
        try:
            every, rows = self._sample(False)
            caches = self._new_pinned(item, start, rows, not every)
            self.last = _Pinned(rows) if every else start.add(rows)
            # The objects go now: the plugin keeps identities only.
            del rows
            outcome, duration = self.outcomes.pop(item.nodeid, ("passed", 0.0))
            self.tests += 1
            self._record({"type": "test", "nodeid": item.nodeid, "outcome": outcome,
                          "duration": round(duration, 6), "caches": caches})
        except Exception as exc:
            self._fail("after %s" % item.nodeid, exc)
            return
        if any("ignored" not in c for c in caches):
            self.leaks.append((item.nodeid, caches))

    def pytest_runtest_logreport(self, report):
        state = self.outcomes.setdefault(report.nodeid, ["passed", 0.0])
        state[1] += getattr(report, "duration", 0.0) or 0.0
        if report.failed and state[0] not in ("failed", "error"):
            state[0] = "failed" if report.when == "call" else "error"
        elif report.skipped and state[0] == "passed":
            state[0] = "skipped"

    def pytest_sessionfinish(self, session, exitstatus):
        if _MARKS_OWNER and _MARKS_OWNER[0] is self:
            _MARKS_OWNER.clear()
        if self.error is not None:
            return
        try:
            self._record({"type": "session", "event": "finish", "tests": self.tests,
                          "exitstatus": int(exitstatus)})
        except Exception as exc:
            self._fail("session finish", exc)

    def pytest_terminal_summary(self, terminalreporter):
        if self.recording and self.error is None:
            return  # `lruleak run` reports; the suite's own output stays as it was
        tr = terminalreporter
        if self.error is not None:
            tr.write_sep("-", "lruleak")
            tr.write_line("lruleak: no per-test attribution: %s" % self.error)
            return
        # The CLI's warm-up rule, for this one process: a cache that a single
        # test filled is a warm-up; once a second test adds to it, it grows.
        fills = {}
        for _, caches in self.leaks:
            for c in caches:
                if "ignored" not in c:
                    fills[_row_key(c)] = fills.get(_row_key(c), 0) + 1
        blamed, warm = [], []
        for nodeid, caches in self.leaks:
            grown = [c for c in caches if "ignored" not in c and fills[_row_key(c)] > 1]
            warm += ["%s (%s +%d)" % (nodeid, c["qualname"], c["new"]) for c in caches
                     if "ignored" not in c and c not in grown]
            if grown:
                blamed.append((sum(c["new"] for c in grown), nodeid, grown))
        if not blamed and not warm:
            return
        tr.write_sep("-", "lruleak: tests that left objects pinned by lru caches")
        for new, nodeid, grown in sorted(blamed, key=lambda x: -x[0]):
            names = ", ".join("%s +%d" % (c["qualname"], c["new"]) for c in grown)
            tr.write_line("%6d  %s  (%s)" % (new, nodeid, names))
        for line in warm:
            tr.write_line("  warm-up, not blamed: %s" % line)


def pytest_addoption(parser):
    group = parser.getgroup("lruleak", "lruleak: objects pinned by functools.lru_cache")
    group.addoption("--lruleak-ignore", action="append", default=[], metavar="NAME",
                    help="do not blame a test for this cache (fnmatch pattern on the "
                         "qualname or module.qualname; repeatable)")
    parser.addini("lruleak_ignore", type="linelist", default=[],
                  help="lruleak: caches never blamed (fnmatch patterns, one per line)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "%s(*names): lruleak does not blame this test for objects pinned by these "
        "caches (fnmatch patterns on qualname or module.qualname; none: every cache)"
        % IGNORE_MARKER)
    agent, error = None, None
    try:
        agent = _load_agent()
    except Exception as exc:  # no agent: nothing to measure with; say so
        error = "cannot load the lruleak agent: %s" % exc
    config.pluginmanager.register(_Tracker(config, agent, error), "lruleak-tracker")
