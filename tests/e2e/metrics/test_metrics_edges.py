# SPDX-License-Identifier: MIT
"""Protocol edges of lruleak metrics: an agent that dies in the middle of
a scrape, a stopped (silent) agent, 50 agents at once, label values with
quotes, backslashes and newlines, slow and idle HTTP clients. Each scrape
must still be a valid exposition (strict parser, promtool), and the
exporter must keep serving."""
import os
import signal
import socket
import subprocess
import threading
import time

from conftest import (CLI, LEAKY, by_pid, cache_value, promtool_check_metrics, scrape_once,
                      wait_fresh)
import expo_parser

ODD = "__main__." + 'Odd "quoted" \\ back\nslash.compute'


def test_agent_dies_mid_scrape(env, victims, exporter):
    good = victims("--count", 5)
    doomed = victims("--count", 6)
    wait_fresh(env, [good.pid, doomed.pid])
    e = exporter("--timeout", "5")
    # A stopped process's agent accepts the connection (the kernel does)
    # but never answers: the scrape is then waiting on it when it is
    # killed, and its connection breaks.
    os.kill(doomed.pid, signal.SIGSTOP)
    result = {}

    def scrape():
        result["t0"] = time.monotonic()
        result["fam"], result["body"] = e.scrape()
        result["t1"] = time.monotonic()

    th = threading.Thread(target=scrape)
    th.start()
    time.sleep(1.0)
    assert th.is_alive(), "the scrape did not wait for the stopped agent"
    os.kill(doomed.pid, signal.SIGKILL)
    th.join(30)
    assert not th.is_alive()
    fam = result["fam"]
    assert by_pid(fam, "lruleak_up") == {str(good.pid): 1, str(doomed.pid): 0}
    assert cache_value(fam, "lruleak_cache_pinned_objects", good.pid, LEAKY) == 5
    assert cache_value(fam, "lruleak_cache_pinned_objects", doomed.pid, LEAKY) is None
    promtool_check_metrics(result["body"])
    # The exporter keeps serving; the dead process's stale socket is left
    # alone and no longer scraped (its pid is gone).
    doomed.proc.wait(10)
    assert os.path.exists(doomed.sock)
    for om in (False, True):
        fam, _ = e.scrape(openmetrics=om)
        assert by_pid(fam, "lruleak_up") == {str(good.pid): 1}
        assert cache_value(fam, "lruleak_cache_pinned_objects", good.pid, LEAKY) == 5
    status, rest = e.stop()
    assert status == 0, rest


def test_stale_socket_of_a_live_process_is_no_agent(env, victims):
    v = victims("--count", 2)
    wait_fresh(env, [v.pid])
    # A dead agent's socket whose pid now belongs to another program: a
    # socket file nobody listens on, named after a live process (this one).
    path = os.path.join(env["LRULEAK_DIR"], "%d.sock" % os.getpid())
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    fam, text, err = scrape_once(env)
    assert by_pid(fam, "lruleak_up") == {str(v.pid): 1}
    assert err == ""
    promtool_check_metrics(text)
    # Named with --pid, it is an agent that does not answer.
    fam, _, err = scrape_once(env, "--pid", os.getpid(), "--pid", v.pid)
    assert by_pid(fam, "lruleak_up") == {str(os.getpid()): 0, str(v.pid): 1}
    assert "stale socket" in err, err


def test_silent_agent_is_down_within_the_deadline(env, victims):
    good = victims("--count", 2)
    silent = victims("--count", 3)
    wait_fresh(env, [good.pid, silent.pid])
    os.kill(silent.pid, signal.SIGSTOP)
    try:
        fam, text, err = scrape_once(env, "--timeout", "0.5")
        fam_om, _, _ = scrape_once(env, "--timeout", "0.5", openmetrics=True)
    finally:
        os.kill(silent.pid, signal.SIGCONT)
    for f in (fam, fam_om):
        assert by_pid(f, "lruleak_up") == {str(good.pid): 1, str(silent.pid): 0}
        assert cache_value(f, "lruleak_cache_pinned_objects", good.pid, LEAKY) == 2
    assert "pid %d" % silent.pid in err and "(lruleak_up 0)" in err, err
    promtool_check_metrics(text)
    # Awake again, it answers.
    fam, _, _ = scrape_once(env)
    assert by_pid(fam, "lruleak_up") == {str(good.pid): 1, str(silent.pid): 1}


def test_fifty_agents(env, victims, exporter):
    many = [victims("--count", i + 1, ready=False, interval=0.5) for i in range(50)]
    for v in many:
        v.wait_ready(60)
    pids = [v.pid for v in many]
    wait_fresh(env, pids, timeout=60)
    e = exporter()
    for fam, body in [scrape_once(env)[:2], e.scrape(), e.scrape(openmetrics=True)]:
        up = by_pid(fam, "lruleak_up")
        assert up == {str(p): 1 for p in pids}, up
        for v in many:
            assert cache_value(fam, "lruleak_cache_pinned_objects", v.pid, LEAKY) == \
                v.truth[LEAKY]["pinned"]
            assert cache_value(fam, "lruleak_cache_entries", v.pid, LEAKY) == \
                v.truth[LEAKY]["entries"]
        if not body.endswith(b"# EOF\n"):
            promtool_check_metrics(body)
    # Three scrapes at once, from three clients.
    out = []
    ths = [threading.Thread(target=lambda: out.append(e.scrape())) for _ in range(3)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    assert len(out) == 3
    for fam, _ in out:
        assert by_pid(fam, "lruleak_up") == {str(p): 1 for p in pids}


def test_label_values_with_quotes_backslashes_newlines(env, victims, exporter):
    v = victims("--count", 4, "--odd", 7)
    assert v.truth[ODD]["pinned"] == 7
    wait_fresh(env, [v.pid])
    e = exporter()
    fam, text, _ = scrape_once(env)
    for f, body in [(fam, text), e.scrape(), e.scrape(openmetrics=True)]:
        # The escaped form is on one line, and reads back to the qualname.
        assert b'cache="__main__.Odd \\"quoted\\" \\\\ back\\nslash.compute"' in body
        assert cache_value(f, "lruleak_cache_pinned_objects", v.pid, ODD) == 7
        assert cache_value(f, "lruleak_cache_entries", v.pid, ODD) == v.truth[ODD]["entries"]
        assert cache_value(f, "lruleak_cache_pinned_objects", v.pid, LEAKY) == 4
    promtool_check_metrics(text)


def http_exchange(sock):
    reply = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return reply
        reply += chunk


def test_slow_and_idle_clients(env, victims, exporter):
    v = victims("--count", 3)
    wait_fresh(env, [v.pid])
    e = exporter()
    idle = socket.create_connection(("127.0.0.1", e.port), timeout=30)
    slow = socket.create_connection(("127.0.0.1", e.port), timeout=30)
    request = (b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Accept: application/openmetrics-text; version=1.0.0\r\nConnection: close\r\n\r\n")
    # The slow client sends its request a few bytes at a time over ~3 s;
    # meanwhile other clients are served.
    for i in range(0, len(request), 4):
        slow.sendall(request[i:i + 4])
        time.sleep(0.025)
        if i % 40 == 0:
            fam, _ = e.scrape()
            assert cache_value(fam, "lruleak_cache_pinned_objects", v.pid, LEAKY) == 3
    reply = http_exchange(slow)
    slow.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"application/openmetrics-text" in head
    fam = expo_parser.parse(body, openmetrics=True)
    assert cache_value(fam, "lruleak_cache_pinned_objects", v.pid, LEAKY) == 3
    # A client that reads its reply very slowly (a small receive buffer,
    # one byte at a time for a while) does not hold the others up.
    slowreader = socket.socket()
    slowreader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    slowreader.connect(("127.0.0.1", e.port))
    slowreader.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first = slowreader.recv(1)
    for _ in range(20):
        fam, _ = e.scrape(openmetrics=True)
        assert by_pid(fam, "lruleak_up") == {str(v.pid): 1}
        first += slowreader.recv(1)
    rest = http_exchange(slowreader)
    slowreader.close()
    head, _, body = (first + rest).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    promtool_check_metrics(body)
    # The idle connection sent nothing all along and did not block anyone;
    # it is still usable.
    idle.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = http_exchange(idle).partition(b"\r\n\r\n")
    idle.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    expo_parser.parse(body, openmetrics=False)
    # Garbage is refused, and the exporter goes on.
    junk = socket.create_connection(("127.0.0.1", e.port), timeout=30)
    junk.sendall(b"\x00\x01\x02 not http\r\n\r\n")
    assert http_exchange(junk)[:12] in (b"", b"HTTP/1.1 400", b"HTTP/1.0 400")
    junk.close()
    fam, _ = e.scrape()
    assert by_pid(fam, "lruleak_up") == {str(v.pid): 1}
    status, rest = e.stop()
    assert status == 0, rest
