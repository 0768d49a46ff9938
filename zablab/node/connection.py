"""A client connection's state and the server's request counters, as plain records.

They live apart from ServerCore so that the modules that read them (the read handlers, the
four-letter words, the admin and metrics endpoints) need not import the server.
"""

from __future__ import annotations

from collections import deque

from .protocol import Id

NEW, WAIT_SESSION, OPEN, CLOSED = range(4)


class Pending:
    """One request of a session waiting for its turn (reads) or its txn (writes)."""

    __slots__ = ("xid", "op", "body", "write", "reply", "t0")

    def __init__(self, xid: int, op: int, body: object, write: bool, t0: int) -> None:
        self.xid = xid
        self.op = op
        self.body = body
        self.write = write
        self.reply: bytes | None = None
        self.t0 = t0


class Latency:
    """min/avg/max of request latencies in ms, as ZooKeeper's stat and cons print them."""

    __slots__ = ("min", "max", "total", "count")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.min = 0
        self.max = 0
        self.total = 0
        self.count = 0

    def add(self, ms: int) -> None:
        if self.count == 0 or ms < self.min:
            self.min = ms
        if ms > self.max:
            self.max = ms
        self.total += ms
        self.count += 1

    @property
    def avg(self) -> float:
        return self.total / self.count if self.count else 0.0


class Conn:
    __slots__ = (
        "id",
        "peer",
        "ip",
        "buf",
        "state",
        "session_id",
        "timeout",
        "auth",
        "queue",
        "out",
        "deferred",
        "with_ro",
        "recv",
        "sent",
        "closing",
        "established",
        "last_op",
        "last_cxid",
        "last_zxid",
        "last_response",
        "last_latency",
        "latency",
    )

    def __init__(self, cid: int, peer: str, ip: str, now: int = 0) -> None:
        self.id = cid
        self.peer = peer
        self.ip = ip
        self.buf = bytearray()
        self.state = NEW
        self.session_id = 0
        self.timeout = 0
        self.auth: list[Id] = [Id("ip", ip)]
        self.queue: deque[Pending] = deque()
        self.out: list[bytes] = []
        self.deferred: list[bytes] = []
        self.with_ro = True
        self.recv = 0
        self.sent = 0
        self.closing = False
        # what ZooKeeper's cons prints per connection (est is epoch ms, set by the server)
        self.established = now
        self.last_op = "NA"
        self.last_cxid = -1
        self.last_zxid = -1
        self.last_response = 0
        self.last_latency = 0
        self.latency = Latency()

    def reset_stats(self) -> None:
        self.recv = self.sent = 0
        self.last_op = "NA"
        self.last_cxid = self.last_zxid = -1
        self.last_response = self.last_latency = 0
        self.latency.reset()


class Stats:
    """Server-wide counters (ZooKeeper's ServerStats)."""

    __slots__ = ("received", "sent", "latency", "started")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0
        self.latency = Latency()
        self.started = 0

    def reset(self) -> None:
        self.received = self.sent = 0
        self.latency.reset()
