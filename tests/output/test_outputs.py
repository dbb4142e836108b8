# SPDX-License-Identifier: MIT
"""The CLI's machine-readable outputs, read with the standard library's own
parsers (suite 'output').

The C e2e tests read JSON with the project's own reader (agent/common/
jsonv.c), the code the agent and the CLI use: a bug there could hide from
them. Here every document the CLI writes is parsed with Python's json and
xml.etree modules, and its numbers are checked against the victims' ground
truth (tests/scenarios/e2e_truth.py: weak references and gc.collect()) or
against the recording the report was made from, parsed with json too.

- `lruleak snapshot PID --format json` on truth victims;
- `lruleak run --output FILE` recordings: JSON lines, one process line
  first, the last sample final, its counts the victim's truth; `lruleak
  report FILE --format json` gives the recording's last sample per process;
- `--junit` (JUnit XML, xml.etree) and `--sarif` (SARIF 2.1.0, json) of
  that run: the unbounded cache that pins objects fails, at its file and
  line; the bounded one does not.

Environment (from meson): LRULEAK_CLI, LRULEAK_AGENT, E2E_SCENARIOS,
PYTHON (the victims' interpreter).
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from e2e import (AGENT, CLI, PYTHON, SCENARIOS, Victim,  # noqa: E402,F401
                 check_against_truth, cli, sockdir)


# ---- lruleak snapshot --format json ---------------------------------------------

@pytest.mark.parametrize("script", ["several.py", "bounded.py", "keys.py", "shapes.py"])
def test_snapshot_json_is_the_programs_truth(script, sockdir):
    v = Victim(script, sockdir)
    try:
        out = cli(["snapshot", str(v.p.pid), "--format", "json"], sockdir).stdout
        doc = json.loads(out)
        procs = [p for p in doc["processes"] if p["pid"] == v.p.pid]
        assert len(procs) == 1, "snapshot of %d lists %r" % (v.p.pid,
                                                            [p["pid"] for p in doc["processes"]])
        check_against_truth(procs[0]["caches"], v.truth(), "lruleak snapshot --format json")
    finally:
        v.kill()


# ---- lruleak run: recording, report, JUnit, SARIF --------------------------------

def read_recording(path):
    lines = []
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            assert text.endswith("\n"), "line %d is not terminated" % n
            lines.append(json.loads(text))
    return lines


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory):
    """`lruleak run` on a victim that leaks, with every output asked for."""
    d = tmp_path_factory.mktemp("run")
    victim = os.path.join(SCENARIOS, "leaky_outputs.py")
    rec, junit, sarif, truth = (str(d / n) for n in ("rec.jsonl", "j.xml", "s.sarif",
                                                      "truth.json"))
    p = cli(["run", "--output", rec, "--junit", junit, "--sarif", sarif, "--", PYTHON, victim,
             truth])
    with open(truth) as f:
        t = json.load(f)
    return {"rec": rec, "junit": junit, "sarif": sarif, "truth": t, "victim": victim,
            "stderr": p.stderr}


def test_recording_lines_parse_and_end_in_a_final_sample(leaky_run):
    lines = read_recording(leaky_run["rec"])
    assert lines[0]["type"] == "process"
    pid = lines[0]["pid"]
    samples = [x for x in lines if x.get("type") == "sample" and x["pid"] == pid]
    assert samples, "no sample in the recording"
    assert samples[-1]["final"] is True
    assert sum(1 for s in samples if s["final"]) == 1
    rows = {c["qualname"]: c for c in samples[-1]["caches"]}
    for qualname, pinned in leaky_run["truth"].items():
        assert rows[qualname]["pinned"] == pinned, (qualname, rows[qualname], pinned)


def test_report_json_is_the_recordings_last_sample(leaky_run):
    lines = read_recording(leaky_run["rec"])
    doc = json.loads(cli(["report", leaky_run["rec"], "--format", "json"]).stdout)
    last = {}
    for x in lines:
        if x.get("type") == "sample":
            last[x["pid"]] = x
    assert sorted(p["pid"] for p in doc["processes"]) == sorted(last)
    for p in doc["processes"]:
        want = {c["qualname"]: c for c in last[p["pid"]]["caches"]}
        got = {c["qualname"]: c for c in p["caches"]}
        assert set(want) <= set(got), (sorted(want), sorted(got))
        for q, c in want.items():
            for k in ("pinned", "entries", "selves", "verdict", "file", "line"):
                assert got[q][k] == c[k], (q, k, got[q][k], c[k])


def test_junit_fails_the_leaking_cache_only(leaky_run):
    root = ET.parse(leaky_run["junit"]).getroot()
    cases = root.iter("testcase")
    failing = {}
    for c in cases:
        f = c.find("failure")
        if f is not None:
            failing[c.get("name")] = (f.get("message") or "") + (f.text or "")
    leaking = [q for q, n in leaky_run["truth"].items() if n > 0 and q == "Repo.lookup"]
    assert leaking, "the victim pinned nothing: %r" % leaky_run["truth"]
    names = " ".join(failing)
    assert "Repo.lookup" in names, "no failing testcase names Repo.lookup: %r" % failing
    assert "Small.get" not in names, "a bounded cache failed the run: %r" % failing


def test_sarif_points_at_the_leaking_method(leaky_run):
    with open(leaky_run["sarif"]) as f:
        doc = json.load(f)
    assert doc["version"] == "2.1.0"
    results = [r for run in doc["runs"] for r in run.get("results", [])]
    leaks = [r for r in results if "Repo.lookup" in r["message"]["text"]]
    assert len(leaks) == 1, results
    loc = leaks[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("leaky_outputs.py")
    with open(leaky_run["victim"]) as f:
        src = f.read().split("\n")
    line = loc["region"]["startLine"]
    assert "lru_cache" in src[line - 1] or "def lookup" in src[line - 1], src[line - 1]
    assert not any("Small.get" in r["message"]["text"] and r.get("level") == "error"
                   for r in results)
