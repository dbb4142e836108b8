# SPDX-License-Identifier: MIT
"""Victim: cached instances that the program still references are not pinned.

Every Node goes through Node.key (an unbounded method cache). Some stay
referenced from a list, a module global, a class attribute, a registry dict,
a local variable of main(), a deque, and a local variable of a thread
blocked on an Event; the members of an Enum class use their own cached
method. Only the Nodes the program dropped are pinned.
"""
import collections
import enum
import functools
import threading

from e2e_truth import Truth

GLOBAL_NODE = None
REGISTRY = {}


class Node:
    default = None  # a class attribute holding one Node

    def __init__(self, n):
        self.n = n

    @functools.lru_cache(maxsize=None)
    def key(self, salt):
        return (self.n, salt)


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3

    @functools.lru_cache(maxsize=None)
    def shade(self, level):
        return "%s-%d" % (self.name, level)


def build(truth):
    global GLOBAL_NODE
    kept = []
    nodes = [truth.track(Node(i)) for i in range(60)]
    for node in nodes:
        node.key("a")
        node.key("b")
    kept.extend(nodes[0:10])
    GLOBAL_NODE = nodes[10]
    Node.default = nodes[11]
    for node in nodes[12:20]:
        REGISTRY["node-%d" % node.n] = node
    local = nodes[20]
    queue = collections.deque(nodes[21:24])
    release = threading.Event()
    holder = threading.Thread(target=hold, args=(nodes[24], release))
    holder.start()
    for color in Color:
        truth.track(color)
        color.shade(1)
        color.shade(2)
    truth.cache(Node.key, "method")
    truth.cache(Color.shade, "method")
    return kept, local, queue, holder, release


def hold(node, release):
    release.wait()  # `node` stays a live local of this thread until then
    return node


def main():
    truth = Truth()
    kept, local, queue, holder, release = build(truth)
    truth.ready_and_wait()
    truth.finish(kept, local, queue)
    release.set()
    holder.join()


if __name__ == "__main__":
    main()
