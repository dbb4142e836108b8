# SPDX-License-Identifier: MIT
"""Helpers of the pytest suites that run victims under the real agent and CLI
(tests/output, tests/registry): the CLI with a clean environment, a truth
victim (tests/scenarios/e2e_truth.py) under LD_PRELOAD, and the comparison
of a sample's rows with the victim's truth.

Environment (from meson): LRULEAK_CLI, LRULEAK_AGENT, E2E_SCENARIOS,
PYTHON (the victims' interpreter).
"""
import json
import os
import select
import subprocess
import time

import pytest

CLI = os.environ.get("LRULEAK_CLI", "lruleak")
AGENT = os.environ.get("LRULEAK_AGENT", "")
SCENARIOS = os.environ.get("E2E_SCENARIOS",
                           os.path.join(os.path.dirname(__file__), "..", "scenarios"))
PYTHON = os.environ.get("PYTHON") or "/usr/bin/python3.11"
DEADLINE_S = 60


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LRULEAK_") and k not in ("LD_PRELOAD", "PYTHONPATH")}
    env.update(extra)
    return env


@pytest.fixture
def sockdir(tmp_path):
    d = tmp_path / "sock"
    d.mkdir(mode=0o700)
    return str(d)


def cli(args, sockdir=None, check=True):
    env = clean_env(LRULEAK_AGENT=AGENT)
    if sockdir is not None:
        env["LRULEAK_DIR"] = sockdir
    p = subprocess.run([CLI] + args, env=env, capture_output=True, text=True,
                       timeout=DEADLINE_S)
    if check:
        assert p.returncode == 0, "lruleak %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                                p.stderr)
    return p


class Victim:
    """A truth victim under the agent: READY, snapshot, "go", its truth."""

    def __init__(self, script, sockdir, interval="0.05", record=None):
        env = clean_env(LD_PRELOAD=AGENT, LRULEAK_DIR=sockdir, LRULEAK_INTERVAL=interval)
        if record is not None:
            env["LRULEAK_RECORD"] = record
        self.p = subprocess.Popen([PYTHON, os.path.join(SCENARIOS, script)], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.sock = os.path.join(sockdir, "%d.sock" % self.p.pid)
        assert self.readline() == "READY", "%s did not get ready" % script
        end = time.monotonic() + DEADLINE_S
        while not os.path.exists(self.sock):
            assert time.monotonic() < end, "no agent socket %s" % self.sock
            time.sleep(0.02)

    def readline(self):
        ready, _, _ = select.select([self.p.stdout], [], [], DEADLINE_S)
        assert ready, "the victim said nothing for %d s" % DEADLINE_S
        return self.p.stdout.readline().strip()

    def truth(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        line = self.readline()
        assert self.p.wait(DEADLINE_S) == 0, self.p.stderr.read()
        return json.loads(line)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def verdict_of(pinned, maxsize):
    if pinned == 0:
        return "ok"
    return "leak" if maxsize is None else "bounded"


def check_against_truth(caches, truth, what):
    rows = {(c["module"], c["qualname"]): c for c in caches}
    problems = []
    for qualname, t in truth.items():
        row = rows.get((t["module"], qualname))
        if t["entries"] == 0:
            if row is not None:
                problems.append("%s is listed but its cache is empty" % qualname)
            continue
        if row is None:
            problems.append("no row for %s (%d entries)" % (qualname, t["entries"]))
            continue
        for k in ("entries", "hits", "misses", "selves", "pinned", "wrappers", "maxsize",
                  "typed", "self_only", "kind", "file"):
            if row.get(k) != t[k]:
                problems.append("%s: %s is %r, the program's truth is %r"
                                % (qualname, k, row.get(k), t[k]))
        if not t["line"] <= row.get("line", -1) <= t["def_line"]:
            problems.append("%s: line %r not in [%d, %d]" % (qualname, row.get("line"),
                                                             t["line"], t["def_line"]))
        want = verdict_of(t["pinned"], t["maxsize"])
        if row.get("verdict") != want:
            problems.append("%s: verdict %r, expected %r" % (qualname, row.get("verdict"), want))
        if (row.get("retained_bytes") == 0) != (t["pinned"] == 0):
            problems.append("%s: retained_bytes %r with %d pinned" % (qualname,
                                                                     row.get("retained_bytes"),
                                                                     t["pinned"]))
    assert not problems, "%s differs from the program's truth:\n  %s" % (what,
                                                                          "\n  ".join(problems))
