# SPDX-License-Identifier: MIT
"""Do no harm: what a program sees, and how it ends, is the same with the
agent as without it. Each test runs a real victim from tests/scenarios
twice or against its own ground truth, under the built agent (LD_PRELOAD)
with the interpreter in $PYTHON, and fails on any difference. Each one
failed on the agent before the fix it guards (tests/README.md: Reliability).

Environment (tests/harm/meson.build): PYTHON, LRULEAK_AGENT, LRULEAK_CLI,
SCENARIOS; optionally E2E_PRELOAD (a sanitizer runtime, first in
LD_PRELOAD)."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

PYTHON = os.environ.get("PYTHON", "")
AGENT = os.environ["LRULEAK_AGENT"]
SCENARIOS = os.environ["SCENARIOS"]

if not PYTHON or not os.access(PYTHON, os.X_OK):
    pytest.skip("no interpreter for this flavour", allow_module_level=True)


def version():
    out = subprocess.run([PYTHON, "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.split()
    return tuple(int(x) for x in out)


VERSION = version()


def scenario(name):
    return os.path.join(SCENARIOS, name)


def agent_env(record=None, **extra):
    env = dict(os.environ)
    pre = [p for p in (os.environ.get("E2E_PRELOAD"), AGENT) if p]
    env["LD_PRELOAD"] = ":".join(pre)
    for k in ("LRULEAK_RECORD", "LRULEAK_LOG"):
        env.pop(k, None)
    if record:
        env["LRULEAK_RECORD"] = record
    env["LRULEAK_DIR"] = tempfile.mkdtemp(prefix="harm-sock-")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def plain_env(**extra):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, env, timeout=30):
    return subprocess.run([PYTHON] + args, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def samples(record_dir, pid=None):
    """Sample lines of the recording (of one pid, or all)."""
    out = []
    for path in glob.glob(os.path.join(record_dir, "*.jsonl")):
        if pid is not None and os.path.basename(path) != "%d.jsonl" % pid:
            continue
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("type") == "sample":
                    out.append(rec)
    return out


def test_thread_that_forks_and_returns_ends_its_child(tmp_path):
    """The child's only thread returns: the child must exit (status 0) and
    leave no process behind, as without the agent."""
    pidfile = tmp_path / "child.pid"
    rec = str(tmp_path)
    start = time.monotonic()
    p = run([scenario("fork_thread_returns.py"), str(pidfile)],
            agent_env(record=rec, LRULEAK_INTERVAL=0.05), timeout=20)
    took = time.monotonic() - start
    assert p.returncode == 0, p.stderr
    assert "child status 0" in p.stdout
    assert took < 10
    child = int(pidfile.read_text())
    assert not os.path.exists("/proc/%d" % child)
    # The agent was there: the parent sampled, the child was followed.
    assert samples(rec, None), "no sample recorded"


@pytest.mark.parametrize("when", ["early", "late"])
def test_forked_thread_outlived_by_another_ends_its_child(tmp_path, when):
    """In the child the forking thread starts another thread and returns
    before it; the child must end with that last thread, as without the
    agent, whether the agent was ready when the program forked or not (the
    child held our pipes open for ever: 20 of 20 runs of each kind)."""
    for i in range(5):
        pidfile = tmp_path / ("child-%d.pid" % i)
        start = time.monotonic()
        try:
            p = run([scenario("fork_thread_outlived.py"), when, str(pidfile)],
                    agent_env(), timeout=20)
        finally:
            if pidfile.exists() and os.path.exists("/proc/%s" % pidfile.read_text()):
                os.kill(int(pidfile.read_text()), 9)
        took = time.monotonic() - start
        assert p.returncode == 0, p.stderr
        assert p.stdout == "child status 0\n", p.stdout
        assert took < 10


@pytest.mark.parametrize("how", [["-X", "dev"], "PYTHONDEVMODE", "debug", "malloc_debug",
                                 "pymalloc_debug"])
def test_development_mode_and_debug_allocators_exit_cleanly(tmp_path, how):
    args, extra = [], {}
    if isinstance(how, list):
        args = how
    elif how == "PYTHONDEVMODE":
        extra["PYTHONDEVMODE"] = "1"
    else:
        extra["PYTHONMALLOC"] = how
    code = ("import functools\n"
            "class A:\n"
            "    @functools.lru_cache(maxsize=None)\n"
            "    def f(self): return 1\n"
            "k = [A() for _ in range(10)]\n"
            "[a.f() for a in k]\n"
            "import time; time.sleep(0.2); print('hi')\n")
    rec = str(tmp_path)
    p = run(args + ["-c", code], agent_env(record=rec, LRULEAK_INTERVAL=0.05, **extra))
    q = run(args + ["-c", code], plain_env(**extra))
    assert (p.returncode, p.stdout, p.stderr) == (q.returncode, q.stdout, q.stderr), p.stderr
    assert p.returncode == 0
    assert samples(rec), "no sample recorded"


def test_objects_die_with_their_last_reference(tmp_path):
    rec = str(tmp_path)
    p = run([scenario("ring_lifetimes.py"), "3"], agent_env(record=rec, LRULEAK_INTERVAL=0.02),
            timeout=60)
    assert p.returncode == 0, p.stderr
    m = re.search(r"drops (\d+) survived (\d+)", p.stdout)
    assert m and int(m.group(1)) > 100000
    assert int(m.group(2)) == 0
    # Samples (with full walks of the 30,000-instance heap) ran meanwhile.
    got = samples(rec)
    assert len(got) >= 5 and any(s.get("full") for s in got)


@pytest.mark.parametrize("mode", ["bare", "functools"])
def test_fork_prints_no_thread_warning(mode):
    if VERSION < (3, 12):
        pytest.skip("CPython < 3.12 does not warn")
    runs = int(os.environ.get("HARM_FORK_RUNS", "50"))
    for i in range(runs):
        p = run(["-W", "always", scenario("fork_early.py"), mode], agent_env())
        assert p.returncode == 0 and p.stderr == "", "run %d: %s" % (i, p.stderr)


def test_threads_seen_by_the_program_are_its_own(tmp_path):
    if VERSION < (3, 9):
        # agent/README.md, What the agent changes: 3.8's Py_AddPendingCall is not
        # safe at exit, so there the agent samples with a thread state of
        # its own, which a dump taken during a sample lists (1 in 500).
        pytest.skip("CPython 3.8: samples run on the agent's own thread state")
    rec = str(tmp_path)
    p = run([scenario("thread_listing.py"), "500"], agent_env(record=rec, LRULEAK_INTERVAL=0.005),
            timeout=60)
    assert p.returncode == 0, p.stderr
    assert "dumps 500 extra 0" in p.stdout, p.stdout
    assert len(samples(rec)) >= 10


def test_asyncio_program_exits():
    p = run([scenario("asyncio_exit.py")], agent_env(LRULEAK_INTERVAL=0.01), timeout=20)
    assert (p.returncode, p.stdout.strip(), p.stderr) == (0, "done", "")


def test_watchdog_exit_from_a_native_thread():
    try:
        q = run([scenario("watchdog_exit.py")], plain_env(), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("hangs without the agent too")
    if "No module named '_testcapi'" in q.stderr:
        pytest.skip("no _testcapi")
    p = run([scenario("watchdog_exit.py")], agent_env(LRULEAK_INTERVAL=0.05), timeout=20)
    assert p.returncode == q.returncode == 1
    assert "not reached" not in p.stdout


def test_pool_workers_killed_by_sigterm_leave_their_final_sample(tmp_path):
    """`with Pool(3) as p` terminates its fork workers with SIGTERM: each
    still leaves a final sample with what its cache pins, and still dies of
    SIGTERM."""
    cli = os.environ["LRULEAK_CLI"]
    rec, truth_file = tmp_path / "rec.jsonl", tmp_path / "truth.json"
    env = plain_env(LRULEAK_DIR=tempfile.mkdtemp(prefix="harm-sock-"))
    if os.environ.get("E2E_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["E2E_PRELOAD"]
    p = subprocess.run([cli, "run", "--output", str(rec), "--", PYTHON,
                        scenario("pool_terminate.py"), str(truth_file)],
                       env=env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    truth = json.loads(truth_file.read_text())
    assert sorted(truth["exitcodes"].values()) == [-15, -15, -15]
    finals = {}
    with open(rec) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "sample" and r.get("final"):
                finals[str(r["pid"])] = r
    assert set(truth["exitcodes"]) <= set(finals), (truth, sorted(finals))
    for pid, pinned in truth["workers"].items():
        assert pid in finals, "worker %s left no final sample" % pid
        rows = [c for c in finals[pid]["caches"] if c["qualname"] == "Worker.compute"]
        assert rows and rows[0]["pinned"] == pinned, (pid, rows, pinned)
