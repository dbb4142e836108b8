# SPDX-License-Identifier: MIT
"""Victim: eight busy threads and a main thread waiting on stdin.

Two threads compute in pure Python, two sleep in short steps, two wait on
a queue with a timeout, one reads a socket pair (blocked in recv until a
peer thread sends), and one allocates and frees memory all the time (in
and out of malloc, where no agent may be loaded). None of them touches a
cache after start-up. Each counts its rounds and the longest gap between
two of them. After READY the main thread waits for "go", stops the
threads and prints {"threads": [{"name", "rounds", "max_gap_ms"}...]},
then its truth.
"""
import functools
import json
import queue
import socket
import sys
import threading
import time

from e2e_truth import Truth

stop = threading.Event()


class Node:
    def __init__(self, n):
        self.n = n
        self.payload = bytes(600)

    @functools.lru_cache(maxsize=None)
    def weight(self):
        return self.n + 1


class Stat:
    def __init__(self, name):
        self.name = name
        self.rounds = 0
        self.max_gap = 0.0
        self.last = time.monotonic()

    def tick(self):
        now = time.monotonic()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now
        self.rounds += 1


def compute(st):
    acc = 0
    while not stop.is_set():
        for i in range(3000):
            acc = (acc + i * i) % 65521
        st.tick()


def sleeper(st):
    while not stop.is_set():
        time.sleep(0.01)
        st.tick()


def waiter(st, q):
    while not stop.is_set():
        try:
            q.get(timeout=0.02)
        except queue.Empty:
            pass
        st.tick()


def reader(st, sock):
    while not stop.is_set():
        if not sock.recv(1):
            break
        st.tick()


def writer(sock):
    while not stop.is_set():
        sock.send(b"x")
        time.sleep(0.005)
    sock.send(b"x")


def allocator(st):
    while not stop.is_set():
        junk = [bytearray(64 + i % 4096) for i in range(200)]
        junk = {i: str(i) * 3 for i in range(200)}
        junk = None
        st.tick()


def main():
    truth = Truth()
    nodes = [truth.track(Node(i)) for i in range(70)]
    for node in nodes:
        node.weight()
    kept = nodes[::7]
    nodes = node = None
    truth.cache(Node.weight, "method")

    q = queue.Queue()
    a, b = socket.socketpair()
    stats, threads = [], []
    plan = [("compute", compute, ()), ("compute", compute, ()), ("sleep", sleeper, ()),
            ("sleep", sleeper, ()), ("queue", waiter, (q,)), ("queue", waiter, (q,)),
            ("recv", reader, (a,)), ("malloc", allocator, ())]
    for i, (name, fn, args) in enumerate(plan):
        st = Stat("%s-%d" % (name, i))
        stats.append(st)
        threads.append(threading.Thread(target=fn, args=(st,) + args))
    threads.append(threading.Thread(target=writer, args=(b,)))  # feeds recv, not counted
    for t in threads:
        t.start()
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "go":
        stop.set()
        sys.exit(2)
    stop.set()
    for t in threads:
        t.join()
    print(json.dumps({"threads": [{"name": st.name, "rounds": st.rounds,
                                   "max_gap_ms": st.max_gap * 1000.0} for st in stats]}),
          flush=True)
    truth.finish(kept)


if __name__ == "__main__":
    main()
