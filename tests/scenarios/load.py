# SPDX-License-Identifier: MIT
"""Load for service.py: GET /work?id=N in a loop, one request at a time.

Usage: load.py PORT. Every request must be answered "ok N" within 20 s (a
pause of 1 ms between requests keeps the service's memory small); it
prints "sent N" after every 25 answered requests, and when its stdin says
"stop" (or ends) it finishes the request in flight and prints one JSON
line: {"sent": S, "ok": K, "failures": [first few problems]}. Never runs
under the agent.
"""
import http.client
import json
import sys
import threading
import time

stop = threading.Event()


def watch_stdin():
    sys.stdin.readline()
    stop.set()


def main():
    port = int(sys.argv[1])
    threading.Thread(target=watch_stdin, daemon=True).start()
    sent = ok = 0
    failures = []
    conn = None
    while not stop.is_set():
        n = sent + 1
        sent += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", "/work?id=%d" % n)
            resp = conn.getresponse()
            body = resp.read().decode()
            if resp.status == 200 and body == "ok %d" % n:
                ok += 1
            else:
                failures.append("request %d: %d %r" % (n, resp.status, body))
        except Exception as e:
            failures.append("request %d: %s: %s" % (n, type(e).__name__, e))
            conn = None
        if ok and ok % 25 == 0:
            print("sent %d" % ok, flush=True)
        time.sleep(0.001)  # a steady load, not a flood: memory stays small
    print(json.dumps({"sent": sent, "ok": ok, "failures": failures[:5]}), flush=True)


if __name__ == "__main__":
    main()
