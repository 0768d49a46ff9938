"""Seeded network of FIFO connections: per-message delays, partitions, broken connections.

Each ordered pair of nodes has one connection per channel ("election", "zab"). A message is
delivered after a random delay but never before an earlier message on the same connection
(TCP's order). Breaking a connection (partition, crash, or a side closing it) drops what is in
flight and bumps its generation, so nothing sent before the break arrives after it; the
simulator tells both ends at once, as a reset would. A silent partition breaks nothing: the
messages across it are held and released in order at the heal, unless a side has reset the
connection meanwhile (its generation moved on).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .draw import randint, uniform_ints


@dataclass
class Link:
    gen: int = 0
    last: int = 0  # delivery time of the newest message in flight


class Network:
    def __init__(self, nodes: list[int], rng: random.Random, max_delay_ms: int) -> None:
        self.nodes = nodes
        self.rng = rng
        self.max_delay = max_delay_ms
        self.links: dict[tuple[int, int, str], Link] = {}
        self.group: dict[int, int] = {n: 0 for n in nodes}
        self.sent = 0
        self.dropped = 0
        self.slow: dict[int, int] = {}  # node -> extra delay bound (ms) on its messages
        self._delay = uniform_ints(rng, 1, max_delay_ms)  # rng.randint(1, max_delay_ms)

    def link(self, a: int, b: int, channel: str) -> Link:
        key = (a, b, channel)
        ln = self.links.get(key)
        if ln is None:
            ln = self.links[key] = Link()
        return ln

    def connected(self, a: int, b: int) -> bool:
        return self.group[a] == self.group[b]

    def schedule(self, now: int, a: int, b: int, channel: str) -> tuple[int, int]:
        """(delivery time, generation) for a message a -> b sent now."""
        key = (a, b, channel)
        ln = self.links.get(key)
        if ln is None:
            ln = self.links[key] = Link()
        delay = self._delay()
        slow = self.slow
        if slow:
            extra = max(slow.get(a, 0), slow.get(b, 0))
            if extra:
                delay += randint(self.rng, 0, extra)
        at = now + delay
        if at < ln.last:
            at = ln.last
        ln.last = at
        self.sent += 1
        return at, ln.gen

    def current(self, a: int, b: int, channel: str, gen: int) -> bool:
        return self.link(a, b, channel).gen == gen

    def break_pair(self, a: int, b: int) -> None:
        for ch in ("election", "zab"):
            for x, y in ((a, b), (b, a)):
                ln = self.link(x, y, ch)
                ln.gen += 1
                ln.last = 0

    def close_zab(self, a: int, b: int) -> None:
        for x, y in ((a, b), (b, a)):
            ln = self.link(x, y, "zab")
            ln.gen += 1
            ln.last = 0

    def partition(self, groups: list[list[int]], *, silent: bool = False) -> list[tuple[int, int]]:
        """Split into ``groups``; returns the pairs whose connections broke (none if silent:
        then messages across the cut wait, as TCP retransmits, until a heal or a reset)."""
        new = {n: i for i, g in enumerate(groups) for n in g}
        cut = [
            (a, b)
            for i, a in enumerate(self.nodes)
            for b in self.nodes[i + 1 :]
            if self.connected(a, b) and new[a] != new[b]
        ]
        self.group = new
        if silent:
            return []
        for a, b in cut:
            self.break_pair(a, b)
        return cut

    def heal(self) -> None:
        self.group = {n: 0 for n in self.nodes}
        self.slow = {}
