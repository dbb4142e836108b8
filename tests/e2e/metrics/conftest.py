# SPDX-License-Identifier: MIT
"""Fixtures of the metrics e2e tests: real Python victims under the real
agent (LD_PRELOAD of the built liblruleak.so), the real CLI, a private
socket directory per test (other agents on the machine stay out of the
scrapes), and the exporter started with --listen on a kernel-chosen port.

meson passes LRULEAK_AGENT, LRULEAK_CLI, E2E_SCENARIOS, PYTHON (the victims'
interpreter) and optionally E2E_PRELOAD (a sanitizer runtime). When nothing
ran because something is missing (every test skipped), the session exits 77
so meson reports SKIP, not OK.
"""
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import expo_parser  # noqa: E402

CLI = os.environ.get("LRULEAK_CLI", "")
AGENT = os.environ.get("LRULEAK_AGENT", "")
TARGETS = os.environ.get("E2E_SCENARIOS", "")
PYTHON = os.environ.get("PYTHON", "")
# meson's metrics-cli-valgrind runs every lruleak of run_cli and Exporter
# under valgrind memcheck (an error or a leak: exit 99, a failed test).
WRAPPER = shlex.split(os.environ.get("E2E_CLI_WRAPPER", ""))
SOURCE_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MONITORING = os.path.join(SOURCE_ROOT, "scripts", "monitoring")
OM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
LEAKY = "__main__.Leaky.compute"


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    passed = len(reporter.stats.get("passed", []))
    skipped = len(reporter.stats.get("skipped", []))
    if passed == 0 and skipped > 0:
        session.exitstatus = 77


def need(path, what):
    if not path or not os.path.exists(path):
        pytest.skip("%s not found (%r)" % (what, path))


@pytest.fixture
def env(tmp_path):
    """The environment of victims and CLI: a private socket directory."""
    need(CLI, "LRULEAK_CLI")
    need(AGENT, "LRULEAK_AGENT")
    need(PYTHON, "PYTHON (the victims' interpreter)")
    sock = tempfile.mkdtemp(prefix="lruleak-metrics-", dir="/tmp")
    os.chmod(sock, 0o700)
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "LRULEAK_RECORD", "LRULEAK_LOG", "PYTHONPATH"):
        e.pop(k, None)
    e["LRULEAK_DIR"] = sock
    e["LRULEAK_INTERVAL"] = "0.2"
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    yield e
    for name in os.listdir(sock):
        try:
            os.unlink(os.path.join(sock, name))
        except OSError:
            pass
    os.rmdir(sock)


class Victim:
    """scenarios/metrics_victim.py under the agent."""

    def __init__(self, env, *args, interval=None):
        e = dict(env)
        pre = os.environ.get("E2E_PRELOAD", "")
        e["LD_PRELOAD"] = (pre + " " if pre else "") + AGENT
        if interval is not None:
            e["LRULEAK_INTERVAL"] = str(interval)
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(TARGETS, "metrics_victim.py")] + [str(a) for a in args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=e, text=True)
        self.pid = self.proc.pid
        self.sock = os.path.join(env["LRULEAK_DIR"], "%d.sock" % self.pid)
        self.truth = None

    def wait_ready(self, timeout=30):
        reply = self.read(timeout)
        assert reply.get("ready"), reply
        self.truth = reply["truth"]
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.sock):
            assert time.monotonic() < deadline, "no agent socket for pid %d" % self.pid
            time.sleep(0.02)
        return self

    def read(self, timeout=30):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert r, "victim %d did not answer" % self.pid
        line = self.proc.stdout.readline()
        assert line, "victim %d ended (status %r)" % (self.pid, self.proc.poll())
        return json.loads(line)

    def ask(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        reply = self.read()
        self.truth = reply["truth"]
        return reply

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)
                self.proc.stdin.write("exit\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        return self.proc.returncode


@pytest.fixture
def victims(env):
    made = []

    def start(*args, ready=True, **kw):
        v = Victim(env, *args, **kw)
        made.append(v)
        if ready:
            v.wait_ready()
        return v

    yield start
    for v in made:
        v.stop()


def run_cli(env, *args, timeout=60, check=True):
    p = subprocess.run(WRAPPER + [CLI] + [str(a) for a in args], env=env,
                       capture_output=True, timeout=timeout * (5 if WRAPPER else 1))
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stderr.decode(errors="replace"))
    return p


def scrape_once(env, *args, openmetrics=False):
    """lruleak metrics once: parsed families, raw bytes, stderr."""
    fmt = ["--format", "openmetrics"] if openmetrics else []
    p = run_cli(env, "metrics", *(fmt + list(args)))
    return expo_parser.parse(p.stdout, openmetrics), p.stdout, p.stderr.decode(errors="replace")


def by_pid(families, name):
    return {labels["pid"]: value for labels, value in expo_parser.samples(families, name)}


def cache_value(families, name, pid, cache):
    found = [v for labels, v in expo_parser.samples(families, name)
             if labels["pid"] == str(pid) and labels["cache"] == cache]
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_fresh(env, pids, timeout=30):
    """Wait until every agent in pids has published a sample that began
    after this call (two more samples than now: the one in flight may have
    begun before). Victims are static once ready, so such a sample holds
    their final state."""
    pids = [str(p) for p in pids]
    fam, _, _ = scrape_once(env)
    start = by_pid(fam, "lruleak_agent_samples_total")
    assert all(p in start for p in pids), (pids, start)
    deadline = time.monotonic() + timeout
    while True:
        fam, _, _ = scrape_once(env)
        now = by_pid(fam, "lruleak_agent_samples_total")
        if all(now.get(p, 0) >= start[p] + 2 for p in pids):
            return
        assert time.monotonic() < deadline, ("agents did not sample", start, now)
        time.sleep(0.1)


class Exporter:
    """lruleak metrics --listen 127.0.0.1:0 (the port it prints)."""

    def __init__(self, env, *args, listen="127.0.0.1:0"):
        self.proc = subprocess.Popen(
            WRAPPER + [CLI, "metrics", "--listen", listen] + list(args), env=env,
            stderr=subprocess.PIPE, bufsize=0)
        try:
            r, _, _ = select.select([self.proc.stderr], [], [], 60 if WRAPPER else 10)
            assert r, "the exporter printed nothing"
            line = self.proc.stderr.readline().decode()
            assert "serving http://127.0.0.1:" in line, line
        except BaseException:
            self.proc.kill()  # not serving as it should: not left behind either
            self.proc.wait()
            self.proc.stderr.close()
            raise
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        self.url = "http://127.0.0.1:%d/metrics" % self.port

    def get(self, accept=None, timeout=30):
        req = urllib.request.Request(self.url, headers={"Accept": accept} if accept else {})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read()

    def scrape(self, openmetrics=False):
        status, ctype, body = self.get(OM_ACCEPT if openmetrics else None)
        assert status == 200
        if openmetrics:
            assert ctype.startswith("application/openmetrics-text; version=1.0.0"), ctype
        else:
            assert ctype.startswith("text/plain; version=0.0.4"), ctype
        return expo_parser.parse(body, openmetrics), body

    def stop(self):
        """SIGTERM; returns (status, the rest of stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rest = self.proc.communicate(timeout=60 if WRAPPER else 15)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest = self.proc.communicate()[1]
        return self.proc.returncode, rest.decode(errors="replace")


@pytest.fixture
def exporter(env):
    made = []

    def start(*args, **kw):
        e = Exporter(env, *args, **kw)
        made.append(e)
        return e

    yield start
    for e in made:
        e.stop()


def promtool():
    for p in ("/usr/bin/promtool", "/usr/local/bin/promtool"):
        if os.path.exists(p):
            return p
    pytest.skip("promtool not installed (Debian package prometheus)")


def promtool_check_metrics(data):
    p = subprocess.run([promtool(), "check", "metrics"], input=data, capture_output=True,
                       timeout=60)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode == 0 and out.strip() == "", out
