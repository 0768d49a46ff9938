"""A client connection's state and the server's request counters, as plain records.

They live apart from ServerCore so that the modules that read them (the read handlers, the
four-letter words, the admin and metrics endpoints) need not import the server.
"""

from __future__ import annotations

from collections import deque

from .metrics import Summary
from .protocol import Id, OpCode

NEW, WAIT_SESSION, OPEN, CLOSED = range(4)

# the request kinds ZooKeeper's cons prints as lop= (FinalRequestProcessor's lastOp)
LAST_OP = {
    OpCode.PING: "PING",
    OpCode.CREATE_SESSION: "SESS",
    OpCode.MULTI: "MULT",
    OpCode.MULTI_READ: "MLTR",
    OpCode.CREATE: "CREA",
    OpCode.CREATE2: "CREA",
    OpCode.CREATE_CONTAINER: "CREA",
    OpCode.CREATE_TTL: "CREA",
    OpCode.DELETE: "DELE",
    OpCode.DELETE_CONTAINER: "DELE",
    OpCode.SET_DATA: "SETD",
    OpCode.RECONFIG: "RECO",
    OpCode.SET_ACL: "SETA",
    OpCode.CLOSE_SESSION: "CLOS",
    OpCode.SYNC: "SYNC",
    OpCode.CHECK: "CHEC",
    OpCode.EXISTS: "EXIS",
    OpCode.GET_DATA: "GETD",
    OpCode.SET_WATCHES: "SETW",
    OpCode.SET_WATCHES2: "STW2",
    OpCode.ADD_WATCH: "ADDW",
    OpCode.GET_ACL: "GETA",
    OpCode.GET_CHILDREN: "GETC",
    OpCode.GET_CHILDREN2: "GETC",
    OpCode.GET_ALL_CHILDREN_NUMBER: "GETACN",
    OpCode.CHECK_WATCHES: "CHKW",
    OpCode.REMOVE_WATCHES: "REMW",
    OpCode.WHO_AM_I: "HOMI",
    OpCode.GET_EPHEMERALS: "GETE",
}


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
        self.latency = Summary("latency", "Request latency in ms")

    def reset_stats(self) -> None:
        self.recv = self.sent = 0
        self.last_op = "NA"
        self.last_cxid = self.last_zxid = -1
        self.last_response = self.last_latency = 0
        self.latency.reset()


class Stats:
    """Server-wide counters (ZooKeeper's ServerStats)."""

    __slots__ = (
        "received",
        "sent",
        "latency",
        "started",
        "auth_failed",
        "last_response_size",
        "min_response_size",
        "max_response_size",
    )

    def __init__(self) -> None:
        self.latency = Summary("latency", "Request latency in ms")
        self.started = 0
        self.reset()

    def reset(self) -> None:
        """srst: ZooKeeper's ServerStats.reset (latency, packets, response sizes, auth)."""
        self.received = self.sent = 0
        self.latency.reset()
        self.auth_failed = 0
        self.last_response_size = -1  # ZooKeeper's BufferStats before the first response
        self.min_response_size = -1
        self.max_response_size = -1

    def response(self, size: int) -> None:
        self.last_response_size = size
        if self.min_response_size < 0 or size < self.min_response_size:
            self.min_response_size = size
        if size > self.max_response_size:
            self.max_response_size = size
