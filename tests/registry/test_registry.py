# SPDX-License-Identifier: MIT
"""The wrapper registry (agent/scan/registry.h), end to end (suite 'registry').

The agent learns of every lru wrapper when it is made and forgets it when
it is freed, through forwarders in the wrapper type's tp_new and tp_dealloc
slots; a quick sample (`lruleak snapshot --quick`) then walks no heap.

- caches made after the first sample, which no class or module names
  (per-instance and closure caches), are counted by a quick snapshot
  exactly as the program's truth says (before the registry, only a full
  heap walk found them);
- wrappers made and freed by two threads while the agent samples every
  10 ms: no crash, no wrapper outlives its last reference, and the quick
  snapshot afterwards is the truth (a method of a class made inside a
  function included: its wrapper is made while the class body runs);
- a steady sample of a big heap checks its kept objects in slices, each
  its own GIL hold, and agrees with a complete sample and the truth;
- detach gives the type its own slots back (read with ctypes by the victim,
  before attach, while attached and after detach), and wrappers are made
  and freed as before, attached or not.
"""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from e2e import (AGENT, CLI, DEADLINE_S, PYTHON, SCENARIOS, Victim,  # noqa: E402,F401
                 check_against_truth, clean_env, cli, sockdir)


def quick_rows(pid, sockdir):
    doc = json.loads(cli(["snapshot", str(pid), "--quick", "--format", "json"], sockdir).stdout)
    procs = [p for p in doc["processes"] if p["pid"] == pid]
    assert len(procs) == 1
    assert procs[0].get("full") is not True, "a quick snapshot walked the heap"
    return procs[0]["caches"]


def test_quick_snapshot_counts_caches_made_after_the_first_sample(sockdir):
    v = Victim("late.py", sockdir)
    try:
        caches = quick_rows(v.p.pid, sockdir)
        check_against_truth(caches, v.truth(), "lruleak snapshot --quick")
    finally:
        v.kill()


def test_wrappers_made_and_freed_while_sampling(sockdir):
    v = Victim("registry_churn.py", sockdir, interval="0.01")
    try:
        caches = quick_rows(v.p.pid, sockdir)
        check_against_truth(caches, v.truth(), "lruleak snapshot --quick after churn")
    finally:
        v.kill()


class Plain:
    """registry_slots.py, started without the agent."""

    def __init__(self):
        self.p = subprocess.Popen([PYTHON, os.path.join(SCENARIOS, "registry_slots.py")],
                                  env=clean_env(), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "READY"

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        assert line, "registry_slots.py ended: %s" % self.p.stderr.read()
        return line

    def slots(self):
        return json.loads(self.ask("slots"))


def test_detach_gives_the_type_its_own_slots_back(sockdir):
    v = Plain()
    try:
        before = v.slots()
        assert v.ask("churn").startswith("ok")
        cli(["attach", str(v.p.pid)], sockdir)
        cli(["snapshot", str(v.p.pid), "--format", "json"], sockdir)  # a sample ran
        attached = v.slots()
        assert attached["new"] != before["new"] and attached["dealloc"] != before["dealloc"], \
            "the agent samples but its forwarders are not in the type (%r)" % attached
        assert v.ask("churn").startswith("ok")
        cli(["detach", str(v.p.pid)], sockdir)
        assert v.slots() == before
        assert v.ask("churn").startswith("ok")
        v.p.stdin.write("quit\n")
        v.p.stdin.flush()
        assert v.p.wait(DEADLINE_S) == 0, v.p.stderr.read()
    finally:
        if v.p.poll() is None:
            v.p.kill()
            v.p.wait()


# ---- steady samples: the last complete sample's counts, when nothing changed ----

STEADY_STEPS = ["grow", "few", "hits", "leak", "grow", "drop", "leak", "hits", "evict", "hits",
                "revive", "leak", "drop", "hold", "let", "grow", "clear", "leak", "hits", "grow",
                "evict", "drop", "hold", "leak", "let", "hits"]
COMPARED = ("entries", "hits", "misses", "selves", "pinned", "retained_bytes", "wrappers")


def compare_quick_and_complete(v, sockdir, step):
    """Send one step; compare a quick snapshot with a complete one and both
    with the truth. Returns the quick snapshot's process object."""
    v.p.stdin.write(step + "\n")
    v.p.stdin.flush()
    truth = json.loads(v.readline())
    quick, qrows = snapshot_rows(v.p.pid, sockdir, quick=True)
    _, frows = snapshot_rows(v.p.pid, sockdir, quick=False)
    for name in set(qrows) | set(frows):
        q, f = qrows.get(name, {}), frows.get(name, {})
        diff = {k: (q.get(k), f.get(k)) for k in COMPARED if q.get(k) != f.get(k)}
        assert not diff, "after %r, %s: quick (steady=%s) vs complete: %r" % (
            step, name, quick.get("steady"), diff)
    check_against_truth(list(qrows.values()), truth, "after %r, quick snapshot" % step)
    return quick


def snapshot_rows(pid, sockdir, quick):
    args = ["snapshot", str(pid), "--format", "json"] + (["--quick"] if quick else [])
    doc = json.loads(cli(args, sockdir).stdout)
    proc = [p for p in doc["processes"] if p["pid"] == pid][0]
    return proc, {c["qualname"]: c for c in proc["caches"]}


def test_steady_samples_match_complete_ones(sockdir, tmp_path):
    """After every step: a quick snapshot (which may carry on the last
    complete sample's counts, plus new entries of caches that only grew) and
    then a complete one give the same rows, and both are the program's
    truth; the quick one did carry them on after most steps, and the
    agent's recording shows samples that read only new entries, so this
    compares the steady and growth paths, not two complete samples."""
    rec = tmp_path / "rec"
    rec.mkdir()
    v = Victim("steady_phases.py", sockdir, record=str(rec))
    steady = []
    try:
        for step in STEADY_STEPS:
            quick = compare_quick_and_complete(v, sockdir, step)
            steady.append(quick.get("steady") is True)
        v.p.stdin.write("quit\n")
        v.p.stdin.flush()
        assert v.p.wait(DEADLINE_S) == 0, v.p.stderr.read()
    finally:
        v.kill()
    assert sum(steady) >= len(STEADY_STEPS) // 2, \
        "the quick snapshots were steady after %d of %d steps" % (sum(steady), len(STEADY_STEPS))
    samples = [json.loads(line) for f in rec.iterdir() for line in f.open()
               if '"sample"' in line]
    grew = [s for s in samples if s.get("steady") and s.get("entries_read", 0) > 0]
    assert grew, "no sample read only new entries (%d samples)" % len(samples)


def test_bounded_and_closure_caches_that_only_grow(sockdir):
    """Bounded caches that missed without evicting, one of them a cache only
    a closure holds (typing's _tp_cache): the quick snapshot after each
    step is a growth sample (no periodic sample in between: it is the only
    sample that sees the change) and says what a complete one and the truth
    do."""
    # near: 40 entries, none evicted
    steps_without_periodic_samples(sockdir, ["grow", "few", "hits", "drop", "few"], "few")


def steps_without_periodic_samples(sockdir, steps, steady_after):
    """Run steady_phases.py's steps with no periodic sample (the quick
    snapshot is the only one that sees a step), each compared with a
    complete snapshot and the truth; after each `steady_after` step the
    quick one must have carried the counts on."""
    v = Victim("steady_phases.py", sockdir, interval="3600")
    try:
        for step in steps:
            quick = compare_quick_and_complete(v, sockdir, step)
            if step == steady_after:
                assert quick.get("steady") is True, \
                    "after %r, the quick snapshot was a complete sample" % step
        v.p.stdin.write("quit\n")
        v.p.stdin.flush()
        assert v.p.wait(DEADLINE_S) == 0, v.p.stderr.read()
    finally:
        v.kill()


def test_selves_the_program_lets_go_of(sockdir):
    """Objects the program kept while a sample ran, then let go of (they are
    pinned now, by one cache): the quick snapshot after that is still a
    steady sample - it walks from those selves only - and says what a
    complete one and the truth do. No periodic sample in between."""
    steps_without_periodic_samples(
        sockdir, ["grow", "hold", "let", "hits", "hold", "leak", "let"], "let")


def test_released_selves_stay_pinned_across_growth(sockdir):
    """Selves let go of in the same step as new entries arrive, kept by a
    growth sample (not a complete one) before: that sample walks from them
    and keeps them as pinned, and the quick snapshots after it count each
    of them once (the growth merges its new entries among the kept ones,
    moving them). No periodic sample in between; a complete snapshot and
    the truth at the end."""
    v = Victim("steady_phases.py", sockdir, interval="3600")
    try:
        compare_quick_and_complete(v, sockdir, "grow")
        for step in ["hold 400", "swap 400"]:
            v.p.stdin.write(step + "\n")
            v.p.stdin.flush()
            truth = json.loads(v.readline())
            quick, _ = snapshot_rows(v.p.pid, sockdir, quick=True)
            assert quick.get("steady") is True, "after %r: a complete sample" % step
        for _ in range(2):  # the second would count a released self twice
            quick, qrows = snapshot_rows(v.p.pid, sockdir, quick=True)
            check_against_truth(list(qrows.values()), truth, "quick snapshot after swap")
        _, frows = snapshot_rows(v.p.pid, sockdir, quick=False)
        check_against_truth(list(frows.values()), truth, "complete snapshot after swap")
        v.p.stdin.write("quit\n")
        v.p.stdin.flush()
        assert v.p.wait(DEADLINE_S) == 0, v.p.stderr.read()
    finally:
        v.kill()


def test_rows_follow_renamed_and_remade_wrappers(sockdir):
    """The agent remembers each wrapper's names between samples
    (agent/scan/scan-names.c): a wrapper's new __qualname__ shows in the
    next quick snapshot, which is still a steady sample, and a wrapper made
    where a freed one lived, around another function of the same name,
    gets its own file and line, not the freed one's. No periodic sample
    in between; each quick snapshot against a complete one and the truth."""
    steps_without_periodic_samples(
        sockdir, ["grow", "rename", "hits", "rename", "remake", "remake", "hits", "remake",
                  "rename"], "rename")


def test_pinned_new_hands_over_what_pinned_hands_over(sockdir):
    """_lruleak.pinned_new(), the pytest plugin's per-test check, returns
    only the objects pinned since its last call when no cache lost an entry
    (steady and growth samples, released selves included), else all of
    them; the agent's own samples every 5 ms come in between. After each of
    77 steps (scenarios/pinned_new.py) what it handed over so far is, row by
    row and by identity, what _lruleak.pinned(False) returns, no object is
    handed over twice, and both kinds of answer occurred."""
    env = clean_env(LD_PRELOAD=AGENT, LRULEAK_DIR=sockdir, LRULEAK_INTERVAL="0.005")
    p = subprocess.run([PYTHON, os.path.join(SCENARIOS, "pinned_new.py"), os.path.dirname(AGENT)],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=DEADLINE_S)
    assert p.returncode == 0, p.stderr
    stats = json.loads(p.stdout.strip().splitlines()[-1])
    assert not stats["mismatches"], "\n".join(stats["mismatches"][:20])
    assert stats["delta"] >= stats["checks"] // 4, stats
    assert stats["delta_new"] > 0 and stats["all_again"] > 0, stats


def test_nested_pytest_session(sockdir, tmp_path):
    """A test that runs another pytest session in its own process, the
    plugin active in both (pytester's in-process runs): the inner session
    checks with pinned(False), so the outer one's pinned_new() marks stay
    its own, and every test is charged with what it made
    (scenarios/pytest-nested). With one set of marks for both sessions the
    outer test was charged with 2 of its 9 Outer objects."""
    if subprocess.run([PYTHON, "-c", "import pytest"], capture_output=True).returncode != 0:
        pytest.skip("%s has no pytest" % PYTHON)
    out = tmp_path / "report.jsonl"
    env = clean_env(LRULEAK_AGENT=AGENT, LRULEAK_DIR=sockdir)
    p = subprocess.run([CLI, "run", "--output", str(out), "--", PYTHON, "-m", "pytest", "-q",
                        "-p", "no:cacheprovider",
                        os.path.join(SCENARIOS, "pytest-nested", "test_nest.py")],
                       cwd=str(tmp_path), env=env, capture_output=True, text=True,
                       timeout=DEADLINE_S)
    assert p.returncode == 0, p.stdout + p.stderr
    charged = {}
    for line in out.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("type") == "test":
            # pytest's own caches (its _get_directory) pin what they pin.
            charged[rec["nodeid"].split("::")[-1]] = {
                c["qualname"]: c["new"] for c in rec["caches"]
                if c["qualname"] in ("Outer.val", "Inner.val")}
    assert charged == {
        "test_outer_pins_five": {"Outer.val": 5},
        "test_inner_pins_three": {"Inner.val": 3},
        "test_outer_runs_a_session": {"Outer.val": 9, "Inner.val": 3},
        "test_outer_pins_one": {"Outer.val": 1},
    }, charged


def test_steady_samples_of_a_big_heap_hold_the_gil_in_slices(sockdir, tmp_path):
    """300,000 cached selves: the periodic steady samples check their
    reference counts in slices, each its own GIL hold (the recording says
    how many holds a sample took), and a quick snapshot taken that way says
    what a complete one and the truth do."""
    rec = tmp_path / "rec"
    rec.mkdir()
    v = Victim("steady_big.py", sockdir, record=str(rec))
    try:
        compare_quick_and_complete(v, sockdir, "hold")
        # The victim is idle (it waits on stdin) since that complete sample:
        # the next one is steady.
        quick, _ = snapshot_rows(v.p.pid, sockdir, quick=True)
        assert quick.get("steady") is True, "an idle heap's quick snapshot was not steady"
        v.p.stdin.write("quit\n")
        v.p.stdin.flush()
        assert v.p.wait(DEADLINE_S) == 0, v.p.stderr.read()
    finally:
        v.kill()
    samples = [json.loads(line) for f in rec.iterdir() for line in f.open()
               if '"sample"' in line]
    # Two slices at least (1.8 ms of checks here, 1 ms a slice) and the sample.
    sliced = [s for s in samples if s.get("steady") and s.get("gil_holds", 0) >= 3]
    assert sliced, "no steady sample took its checks in slices: %r" % [
        (s.get("steady"), s.get("gil_holds")) for s in samples]
