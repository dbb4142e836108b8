# SPDX-License-Identifier: MIT
"""lruleak metrics, printed once and served with --listen, against the
victim's own truth (weak references + gc.collect()) and against
`lruleak snapshot PID --format json`; both formats through the strict
parser of expo_parser.py and `promtool check metrics`."""
import json
import os
import socket
import subprocess

import pytest

from conftest import (CLI, LEAKY, OM_ACCEPT, PYTHON, TARGETS, by_pid, cache_value, promtool_check_metrics,
                      run_cli, scrape_once, wait_fresh)
import expo_parser

CACHE_FAMILIES = {
    "lruleak_cache_pinned_objects": "pinned",
    "lruleak_cache_selves": "selves",
    "lruleak_cache_entries": "entries",
    "lruleak_cache_retained_bytes": "retained_bytes",
    "lruleak_cache_hits_total": "hits",
    "lruleak_cache_misses_total": "misses",
}


def snapshot_caches(env, pid):
    p = run_cli(env, "snapshot", pid, "--format", "json")
    doc = json.loads(p.stdout)
    (proc,) = doc["processes"]
    return {c["module"] + "." + c["qualname"]: c for c in proc["caches"]}


def python_version():
    return subprocess.run([PYTHON, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def check_against(fam, pid, truth, snap):
    for label, t in truth.items():
        if t["entries"] == 0:
            assert cache_value(fam, "lruleak_cache_entries", pid, label) is None
            continue
        s = snap[label]
        labels = [l for l, _ in expo_parser.samples(fam, "lruleak_cache_pinned_objects")
                  if l["pid"] == str(pid) and l["cache"] == label]
        assert len(labels) == 1, labels
        (l,) = labels
        assert l["file"] == s["file"] and l["line"] == str(s["line"]), (l, s)
        assert l["kind"] == s["kind"] == "method" and l["verdict"] == s["verdict"] == "leak"
        for name, key in CACHE_FAMILIES.items():
            assert cache_value(fam, name, pid, label) == s[key], (name, s)
        # The program's own truth.
        assert cache_value(fam, "lruleak_cache_pinned_objects", pid, label) == t["pinned"]
        assert cache_value(fam, "lruleak_cache_selves", pid, label) == t["pinned"]
        assert cache_value(fam, "lruleak_cache_entries", pid, label) == t["entries"]
        assert cache_value(fam, "lruleak_cache_hits_total", pid, label) == t["hits"]
        assert cache_value(fam, "lruleak_cache_misses_total", pid, label) == t["misses"]
        # Each pinned Leaky holds a 1000-byte payload only it refers to.
        assert cache_value(fam, "lruleak_cache_retained_bytes", pid, label) >= 1000 * t["pinned"]


def test_once_matches_truth_and_snapshot(env, victims):
    v = victims("--count", 25)
    assert v.truth[LEAKY] == {"pinned": 25, "entries": 50, "hits": 25, "misses": 50}
    for step in ("start", "grow 12", "clear"):
        if step != "start":
            reply = v.ask(step)
            if step == "clear":
                assert reply["alive_after_clear"] == 0
        wait_fresh(env, [v.pid])
        fam, text, err = scrape_once(env)
        fam_om, om, _ = scrape_once(env, openmetrics=True)
        snap = snapshot_caches(env, v.pid)
        check_against(fam, v.pid, v.truth, snap)
        check_against(fam_om, v.pid, v.truth, snap)
        promtool_check_metrics(text)
        assert err == ""
        if step == "start":
            first, first_om = fam, fam_om
    # The agent's own families.
    pid = str(v.pid)
    assert by_pid(fam, "lruleak_up") == {pid: 1}
    (info,) = expo_parser.samples(fam, "lruleak_agent_info")
    version = run_cli(env, "--version").stdout.decode().split()[1]
    assert info[0] == {"pid": pid, "python": python_version(), "lruleak_version": version,
                       "argv0": PYTHON}
    assert by_pid(fam, "lruleak_agent_samples_total")[pid] >= 3
    assert 0 <= by_pid(fam, "lruleak_agent_sample_cpu_seconds")[pid] < 60
    assert 0 <= by_pid(fam, "lruleak_agent_gil_hold_max_seconds")[pid] < 60
    assert by_pid(fam, "lruleak_agent_memory_bytes")[pid] > 0
    assert first["lruleak_cache_hits_total"]["type"] == "counter"
    assert first_om["lruleak_cache_hits"]["type"] == "counter"
    assert first_om["lruleak_agent"]["type"] == "info"
    assert first_om["lruleak_cache_retained_bytes"]["unit"] == "bytes"
    # Only caches with entries appear: after clear, no Leaky row.
    assert all(l["cache"] != LEAKY for l, _ in expo_parser.samples(fam, "lruleak_cache_entries"))


def test_pid_option_and_missing_agents(env, victims):
    a = victims("--count", 3)
    b = victims("--count", 4)
    wait_fresh(env, [a.pid, b.pid])
    fam, _, _ = scrape_once(env)
    assert by_pid(fam, "lruleak_up") == {str(a.pid): 1, str(b.pid): 1}
    fam, _, _ = scrape_once(env, "--pid", b.pid)
    assert by_pid(fam, "lruleak_up") == {str(b.pid): 1}
    assert cache_value(fam, "lruleak_cache_pinned_objects", b.pid, LEAKY) == 4
    assert cache_value(fam, "lruleak_cache_pinned_objects", a.pid, LEAKY) is None
    # A pid without an agent (this test process) and a pid that does not
    # exist: up 0, still exit 0, a line on stderr for each.
    gone = subprocess.Popen(["true"])
    gone.wait()
    fam, _, err = scrape_once(env, "--pid", a.pid, "--pid", os.getpid(), "--pid", gone.pid)
    assert by_pid(fam, "lruleak_up") == {str(a.pid): 1, str(os.getpid()): 0, str(gone.pid): 0}
    assert err.count("(lruleak_up 0)") == 2, err


def test_usage_errors(env):
    for args, needle in [
        (["--format", "json"], "--format wants text or openmetrics"),
        (["--pid", "x"], "--pid wants a pid"),
        (["--timeout", "0"], "--timeout wants seconds"),
        (["--listen", "example.com:9464"], "not a numeric address"),
        (["--listen", "127.0.0.1"], "no port"),
        (["--listen", "127.0.0.1:0", "--format", "text"], "Accept header chooses"),
        (["extra"], "unexpected argument"),
    ]:
        p = run_cli(env, "metrics", *args, check=False)
        err = p.stderr.decode()
        assert p.returncode == 2, (args, p.returncode, err)
        assert needle in err and err.count("\n") == 1, (args, err)
        assert p.stdout == b""


def test_listen_serves_both_formats_and_stops_on_sigterm(env, victims, exporter):
    v = victims("--count", 9)
    wait_fresh(env, [v.pid])
    e = exporter()
    fam, text = e.scrape()
    fam_om, _ = e.scrape(openmetrics=True)
    once, _, _ = scrape_once(env)
    for f in (fam, fam_om):
        assert by_pid(f, "lruleak_up") == {str(v.pid): 1}
        assert cache_value(f, "lruleak_cache_pinned_objects", v.pid, LEAKY) == 9
        for name in ("lruleak_cache_pinned_objects", "lruleak_cache_entries",
                     "lruleak_cache_retained_bytes", "lruleak_cache_misses_total"):
            assert expo_parser.samples(f, name) == expo_parser.samples(once, name)
    promtool_check_metrics(text)
    # Prometheus's Accept header without OpenMetrics, a browser's, none.
    for accept, om in [("text/plain;version=0.0.4;q=1,*/*;q=0.1", False),
                       ("text/html,application/xhtml+xml,*/*;q=0.8", False),
                       (OM_ACCEPT, True)]:
        status, ctype, body = e.get(accept)
        assert status == 200 and ctype.startswith(
            "application/openmetrics-text" if om else "text/plain"), (accept, ctype)
        expo_parser.parse(body, om)
    # Other paths and methods.
    for path, method, want in [("/nope", "GET", 404), ("/metrics", "POST", 405),
                               ("/", "GET", 200), ("/metrics", "HEAD", 200)]:
        conn = socket.create_connection(("127.0.0.1", e.port), timeout=10)
        conn.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0"
                      "\r\n\r\n" % (method, path)).encode())
        reply = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
        conn.close()
        assert reply.startswith(b"HTTP/1.1 %d " % want), (path, method, reply[:100])
        if method == "HEAD":
            assert reply.endswith(b"\r\n\r\n"), "HEAD with a body"
    status, rest = e.stop()
    assert status == 0, rest
    assert "Terminated, stopping" in rest, rest
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", e.port), timeout=5)


def test_listen_non_loopback_only_when_typed(env, exporter):
    # Typed as a number: served, with a warning first.
    import select
    import signal
    # Unbuffered: a raw readline reads byte by byte, so select() sees
    # what is still unread.
    p = subprocess.Popen([CLI, "metrics", "--listen", "0.0.0.0:0"], env=env,
                         stderr=subprocess.PIPE, bufsize=0)
    try:
        lines = []
        while len(lines) < 2:
            r, _, _ = select.select([p.stderr], [], [], 10)
            assert r, lines
            lines.append(p.stderr.readline().decode())
        assert "is not a loopback address" in lines[0], lines
        assert "serving http://0.0.0.0:" in lines[1], lines
        p.send_signal(signal.SIGTERM)
        assert p.wait(15) == 0
    finally:
        if p.poll() is None:  # a failed check must not leave it serving
            p.kill()
            p.wait()
        p.stderr.close()
    # The empty host is loopback, not every interface (Exporter checks
    # the address it prints).
    e = exporter(listen=":0")
    assert e.port > 0
