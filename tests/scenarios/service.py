# SPDX-License-Identifier: MIT
"""Victim: a long-running HTTP service that leaks through a method cache.

A ThreadingHTTPServer from the standard library on 127.0.0.1 (any free
port). Every GET /work?id=N creates a Request, calls Request.render()
(unbounded lru_cache on a method: the request stays pinned) and
Request.digest() (maxsize 32: the last 32 stay pinned) and answers
"ok N". Every tenth request is also kept in a list on purpose, so not
every cached request is pinned. GET /truth answers the service's own count,
computed without disturbing it (e2e_truth.Truth.compute_live: weak
references, gc.collect(), and the list it keeps). GET /stats answers how
many /work requests it served.

The main thread runs serve_forever() (a poll() loop with a 0.5 s timeout,
where a service's main thread usually waits); a helper thread reads stdin.
It prints "PORT <n>" and READY, serves until its stdin says "quit" (exit 0)
or ends (exit 2), and never prints anything else.
"""
import functools
import http.server
import json
import sys
import threading
import urllib.parse

from e2e_truth import Truth

truth = Truth()
kept = []
lock = threading.Lock()
served = 0


class Request:
    def __init__(self, n):
        self.n = n
        self.payload = bytes(500)

    @functools.lru_cache(maxsize=None)
    def render(self):
        return "ok %d" % self.n

    @functools.lru_cache(maxsize=32)
    def digest(self, salt):
        return (self.n * 31 + salt) % 997


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one answer per round trip, no 40 ms delayed ACKs

    def log_message(self, *args):
        pass  # quiet: the test compares stderr

    def reply(self, text, code=200):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global served
        url = urllib.parse.urlparse(self.path)
        if url.path == "/work":
            n = int(urllib.parse.parse_qs(url.query)["id"][0])
            req = truth.track(Request(n))
            text = req.render()
            req.digest(7)
            with lock:
                served += 1
                if n % 10 == 0:
                    kept.append(req)
            req = None
            self.reply(text)
        elif url.path == "/truth":
            with lock:
                rows = truth.compute_live(*kept)
            self.reply(json.dumps(rows, sort_keys=True))
        elif url.path == "/stats":
            with lock:
                self.reply(json.dumps({"served": served}))
        else:
            self.reply("no such page", 404)


def main():
    truth.cache(Request.render, "method")
    truth.cache(Request.digest, "method")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    status = []

    def watch_stdin():
        status.append(0 if sys.stdin.readline().strip() == "quit" else 2)
        server.shutdown()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    print("READY", flush=True)
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    sys.exit(status[0])


if __name__ == "__main__":
    main()
