#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-pytest.py: what per-test attribution costs a test suite (a benchmark,
not a timed test).

Runs CPython's own test modules (Debian's libpython3.11-testsuite) with
Debian's python3.11 -m pytest, without the agent and under `lruleak run`
(which enables the pytest plugin: one sample per test), --repeats times
each, alternating, and prints per module the median wall time of the
command and the median time pytest reports for the suite itself ("in X s"),
side by side, with the slowdown.

A module named pinned-N is made here instead: 500 trivial tests after a
setup_module that leaves N objects pinned by a method cache (what per-test
attribution meets once a suite has leaked: each check must cost what its
test changed, not what is pinned).

Usage: scripts/bench-pytest.py [--cli build/cli/lruleak] [--repeats 5] [MODULE ...]
       e.g. scripts/bench-pytest.py test_typing pinned-20000
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

MODULES = ["test_typing", "test_enum", "test_ipaddress", "test_pathlib"]
TESTS = "/usr/lib/python3.11/test"
SUITE_TIME = re.compile(rb"in ([0-9.]+)s")
PINNED_SUITE = """import functools
import pytest


class Obj:
    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def val(self):
        return self.n


def setup_module():
    for i in range(%d):
        Obj(i).val()


@pytest.mark.parametrize("i", range(500))
def test_trivial(i):
    assert i >= 0
"""


def module_path(m, cwd):
    """CPython's test module m, or the pinned-N suite written into cwd."""
    if m.startswith("pinned-"):
        path = os.path.join(cwd, "test_%s.py" % m.replace("-", "_"))
        with open(path, "w") as f:
            f.write(PINNED_SUITE % int(m[len("pinned-"):]))
        return path
    return os.path.join(TESTS, m + ".py")


def once(cmd, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRULEAK_")}
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t
    found = SUITE_TIME.findall(p.stdout)
    if not found:
        raise SystemExit("no pytest summary from %s:\n%s" % (" ".join(cmd),
                                                               p.stdout[-2000:].decode()))
    return wall, float(found[-1])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "build", "cli", "lruleak"))
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("modules", nargs="*", default=MODULES)
    args = ap.parse_args(argv)
    if not os.path.isdir(TESTS):
        raise SystemExit("bench-pytest: %s missing (apt-get install libpython3.11-testsuite)"
                         % TESTS)
    print("%-16s %-24s %-24s %s" % ("module", "without: wall / suite s", "lruleak run: wall / suite s",
                                    "slowdown: wall / suite"))
    cwd = tempfile.mkdtemp(prefix="lruleak-bench-pytest.")
    for m in args.modules:
        base = [args.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                module_path(m, cwd)]
        plain, agent = [], []
        for _ in range(args.repeats):
            plain.append(once(base, cwd))
            agent.append(once([args.cli, "run", "--"] + base, cwd))
        pw, ps = (statistics.median(x[i] for x in plain) for i in (0, 1))
        aw, as_ = (statistics.median(x[i] for x in agent) for i in (0, 1))
        print("%-16s %-24s %-24s %+.0f%% / %+.0f%%" % (
            m, "%.2f / %.2f" % (pw, ps), "%.2f / %.2f" % (aw, as_),
            (aw - pw) * 100 / pw, (as_ - ps) * 100 / ps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
