# SPDX-License-Identifier: MIT
"""The files of scripts/monitoring: the alerting rules (promtool check
rules, promtool test rules), the Grafana dashboard (strict JSON, the
panels scripts/README.md promises, every query valid PromQL naming only metrics
the exporter writes) and the systemd unit (systemd-analyze verify; its
command serves and stops on its kill signal)."""
import configparser
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import urllib.request

import pytest

from conftest import CLI, LEAKY, MONITORING, cache_value, promtool, scrape_once, wait_fresh
import expo_parser

RULES = os.path.join(MONITORING, "lruleak-alerts.yml")
RULE_TESTS = os.path.join(MONITORING, "lruleak-alerts.test.yml")
DASHBOARD = os.path.join(MONITORING, "lruleak-dashboard.json")
UNIT = os.path.join(MONITORING, "lruleak-metrics@.service")


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    return p.returncode, p.stdout + p.stderr


def test_alert_rules_check_and_unit_tests():
    rc, out = run([promtool(), "check", "rules", RULES])
    assert rc == 0 and "SUCCESS: 2 rules found" in out, out
    rc, out = run([promtool(), "test", "rules", RULE_TESTS], cwd=MONITORING)
    assert rc == 0 and "SUCCESS" in out, out


def strict_json(path):
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "duplicate key in %s: %r" % (path, keys)
        return dict(pairs)

    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates)


def dashboard_queries(dash):
    """(panel title, query) with the variables expanded as Grafana does
    for "All" (their allValue)."""
    all_values = {v["name"]: v["allValue"] for v in dash["templating"]["list"]
                  if v.get("includeAll")}
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            q = target["expr"]
            for name, value in all_values.items():
                q = q.replace("$" + name, value)
            assert "$" not in q, q
            out.append((panel["title"], q))
    return out


def test_dashboard(env, victims, tmp_path):
    dash = strict_json(DASHBOARD)
    titles = [p["title"] for p in dash["panels"]]
    for want in ("Pinned objects per cache", "Retained memory per cache",
                 "Growth per cache (pinned objects per hour)"):
        assert want in titles, titles
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    queries = dashboard_queries(dash)
    assert len(queries) >= 10
    # Every query is valid PromQL: promtool parses each as a recording rule.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard:q%d" % i, "expr": q} for i, (_, q) in enumerate(queries)]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    rc, out = run([promtool(), "check", "rules", str(path)])
    assert rc == 0 and "SUCCESS" in out, out
    # Every lruleak_ name in them is a sample the exporter writes.
    v = victims("--count", 2)
    wait_fresh(env, [v.pid])
    fam, _, _ = scrape_once(env)
    written = {name for f in fam.values() for name, _, _ in f["samples"]}
    for title, q in queries:
        for name in re.findall(r"\blruleak_[a-z_]+", q):
            assert name in written, (title, name, sorted(written))


def test_systemd_unit(env, victims, tmp_path):
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str
    unit.read(UNIT)
    exec_start = shlex.split(unit["Service"]["ExecStart"])
    assert exec_start[1:] == ["metrics", "--listen", "127.0.0.1:9464"], exec_start
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert unit["Service"].get("PrivateTmp", "no") == "no"
    # systemd's own verdict, on an instance whose command exists.
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        with open(UNIT) as f:
            text = f.read().replace(exec_start[0], CLI)
        inst = tmp_path / "lruleak-metrics@root.service"
        inst.write_text(text)
        rc, out = run([analyze, "verify", str(inst)])
        assert rc == 0 and out.strip() == "", out
    # Its command, on a free port: serves, then stops on the unit's signal
    # within TimeoutStopSec, with status 0 (no restart under on-failure).
    v = victims("--count", 6)
    wait_fresh(env, [v.pid])
    cmd = [CLI] + exec_start[1:-1] + ["127.0.0.1:0"]
    p = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, bufsize=0)
    try:
        r, _, _ = select.select([p.stderr], [], [], 10)
        assert r
        line = p.stderr.readline().decode()
        assert "serving http://127.0.0.1:" in line, line
        url = line.split()[-1]
        with urllib.request.urlopen(url, timeout=30) as resp:
            fam = expo_parser.parse(resp.read(), openmetrics=False)
        assert cache_value(fam, "lruleak_cache_pinned_objects", v.pid, LEAKY) == 6
        p.send_signal(getattr(signal, unit["Service"]["KillSignal"]))
        assert p.wait(int(unit["Service"]["TimeoutStopSec"])) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
