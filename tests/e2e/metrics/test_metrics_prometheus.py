# SPDX-License-Identifier: MIT
"""A real Prometheus server (Debian's prometheus package) scraping
`lruleak metrics --listen` every second: its HTTP API must give the values
of the agent's snapshot and of the victim's own truth, label values with
quotes, backslashes and newlines must arrive intact, the alerting rules of
scripts/monitoring load, and every dashboard query runs.

The server is our own instance: a free loopback port, a temporary config
and data directory. A packaged prometheus.service the machine may have
started (on :9090) is not involved."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import LEAKY, MONITORING, run_cli, wait_fresh
from test_metrics_files import DASHBOARD, RULES, dashboard_queries, strict_json

ODD = "__main__." + 'Odd "quoted" \\ back\nslash.compute'


def prometheus_binary():
    for p in ("/usr/bin/prometheus", shutil.which("prometheus") or ""):
        if p and os.path.exists(p):
            return p
    pytest.skip("prometheus not installed (Debian package prometheus)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def promql_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Prometheus:
    def __init__(self, tmp_path, target):
        self.dir = tmp_path
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [RULES],
            "scrape_configs": [{"job_name": "lruleak",
                                "static_configs": [{"targets": [target]}]}],
        }
        (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        self.proc = None
        for _ in range(5):  # the free port may be taken meanwhile
            self.port = free_port()
            self.log = open(tmp_path / "prometheus.log", "wb")
            self.proc = subprocess.Popen(
                [prometheus_binary(), "--config.file=%s" % (tmp_path / "prometheus.yml"),
                 "--storage.tsdb.path=%s" % (tmp_path / "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                stdout=self.log, stderr=subprocess.STDOUT)
            if self.wait_ready():
                return
            self.stop()
        pytest.fail("prometheus did not start: %s" % self.logtext())

    def logtext(self):
        try:
            return (self.dir / "prometheus.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                            timeout=5) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as r:
            doc = json.load(r)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, q):
        data = self.api("query", query=q)
        return data["result"]

    def wait_value(self, q, want, after, timeout=60):
        """The value of q once Prometheus has a sample of it scraped after
        `after` (unix time), and it equals want; fails after timeout."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            res = self.query("timestamp(%s)" % q)
            if res and all(float(r["value"][1]) > after for r in res):
                last = self.query(q)
                if len(last) == 1 and float(last[0]["value"][1]) == want:
                    return last[0]
            time.sleep(0.3)
        pytest.fail("%s: wanted %r, last %r\n%s" % (q, want, last, self.logtext()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def snapshot_pinned(env, pid, label):
    doc = json.loads(run_cli(env, "snapshot", pid, "--format", "json").stdout)
    (proc,) = doc["processes"]
    rows = [c for c in proc["caches"] if c["module"] + "." + c["qualname"] == label]
    assert len(rows) == 1, rows
    return rows[0]["pinned"]


def test_prometheus_scrapes_the_exporter(env, victims, exporter, tmp_path):
    prometheus_binary()
    v = victims("--count", 11, "--odd", 3)
    silent = victims("--count", 1)
    wait_fresh(env, [v.pid, silent.pid])
    e = exporter()
    prom = Prometheus(tmp_path, "127.0.0.1:%d" % e.port)
    try:
        after = time.time()
        pid = str(v.pid)
        sel = "lruleak_cache_pinned_objects{pid=%s,cache=%s}" % (promql_string(pid),
                                                                  promql_string(LEAKY))
        got = prom.wait_value(sel, v.truth[LEAKY]["pinned"], after)
        assert got["metric"]["kind"] == "method" and got["metric"]["verdict"] == "leak"
        assert snapshot_pinned(env, v.pid, LEAKY) == 11
        # Prometheus parsed every scrape (its own up) and stored our families.
        (up,) = prom.query('up{job="lruleak"}')
        assert up["value"][1] == "1"
        (info,) = prom.query("lruleak_agent_info{pid=%s}" % promql_string(pid))
        assert info["metric"]["argv0"] == os.environ["PYTHON"]
        (agent_up,) = prom.query("lruleak_up{pid=%s}" % promql_string(pid))
        assert agent_up["value"][1] == "1"
        # The odd qualname went through the exposition and Prometheus's
        # parser intact.
        odd = prom.wait_value("lruleak_cache_pinned_objects{cache=%s}" % promql_string(ODD),
                              3, after)
        assert odd["metric"]["cache"] == ODD
        assert snapshot_pinned(env, v.pid, ODD) == 3
        # Growth reaches Prometheus: the victim leaks 5 more.
        v.ask("grow 5")
        assert v.truth[LEAKY]["pinned"] == 16
        wait_fresh(env, [v.pid])
        after = time.time()
        prom.wait_value(sel, 16, after)
        assert snapshot_pinned(env, v.pid, LEAKY) == 16
        (hits,) = prom.query("lruleak_cache_hits_total{pid=%s,cache=%s}" % (
            promql_string(pid), promql_string(LEAKY)))
        assert float(hits["value"][1]) == v.truth[LEAKY]["hits"]
        # The alerting rules are loaded and healthy.
        groups = prom.api("rules")["groups"]
        rules = {r["name"]: r for g in groups for r in g["rules"]}
        assert set(rules) == {"LruleakPinnedObjectsGrowing", "LruleakAgentDown"}, rules
        assert all(r["health"] == "ok" for r in rules.values()), rules
        # Every dashboard query runs; the pinned panel shows the victim.
        for title, q in dashboard_queries(strict_json(DASHBOARD)):
            res = prom.query(q)
            if title == "Pinned objects per cache":
                # Summed by cache: both victims' Leaky.compute.
                series = {r["metric"]["cache"]: float(r["value"][1]) for r in res}
                assert series[LEAKY] == 16 + 1 and series[ODD] == 3, series
        # A silent agent (its process stopped) costs its lruleak_up, not the
        # scrape: the exporter answers within Prometheus's 1 s scrape
        # timeout (X-Prometheus-Scrape-Timeout-Seconds), though its own
        # --timeout is 2 s.
        os.kill(silent.pid, signal.SIGSTOP)
        try:
            after = time.time()
            prom.wait_value("lruleak_up{pid=%s}" % promql_string(str(silent.pid)), 0, after)
            prom.wait_value('up{job="lruleak"}', 1, time.time())
            prom.wait_value(sel, 16, time.time())
        finally:
            os.kill(silent.pid, signal.SIGCONT)
    finally:
        prom.stop()
    status, rest = e.stop()
    assert status == 0, rest
