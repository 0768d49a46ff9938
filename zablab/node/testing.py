"""A sans-IO ZooKeeper client wired straight to a ServerCore, for tests and the simulator.

No sockets and no clock: `Bench.step()` commits every pending txn and moves the bytes, and
`Bench.advance(ms)` moves virtual time (sessions expire by it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .jute import INT, REPLY_HEADER, Reader, Writer
from .options import ServerOptions
from .protocol import (
    ACL,
    OPEN_ACL_UNSAFE,
    STAT,
    ConnectRequest,
    OpCode,
    write_acl,
)
from .replication import StandaloneReplicator
from .server import ServerCore


@dataclass
class Reply:
    xid: int
    zxid: int
    err: int
    body: bytes

    def reader(self) -> Reader:
        return Reader(self.body)

    def stat(self, offset: int = 0) -> tuple[int, ...]:
        return STAT.unpack_from(self.body, offset)


@dataclass
class Notification:
    type: int
    state: int
    path: str


@dataclass
class Bench:
    tick_ms: int = 200
    core: ServerCore = field(init=False)
    repl: StandaloneReplicator = field(init=False)
    clients: dict[int, TestClient] = field(default_factory=dict)
    log: list[tuple[int, bytes]] = field(default_factory=list)
    auto_commit: bool = True
    options: ServerOptions = field(default_factory=ServerOptions)

    def __post_init__(self) -> None:
        self.core = ServerCore(tick_ms=self.tick_ms, now=0, wall=1_000_000, options=self.options)
        self.repl = StandaloneReplicator(
            self.core.prep, self.core.deliver, self.core.tree.last_zxid, lambda: self.core.wall
        )
        self.core.attach(self.repl)

    def client(self, ip: str = "127.0.0.1") -> TestClient:
        cid = len(self.clients) + 1
        c = TestClient(self, cid)
        self.clients[cid] = c
        assert self.core.open(cid, f"{ip}:{40000 + cid}", ip)
        return c

    def commit(self) -> None:
        self.repl.flush(lambda batch: self.log.extend((t.zxid, p) for t, p in batch))
        self.pump()

    def pump(self) -> None:
        for cid, data, close in self.core.take_output():
            c = self.clients.get(cid)
            if c is None:
                continue
            c.inbox += data
            if close:
                c.closed = True

    def step(self) -> None:
        if self.auto_commit:
            self.commit()
        else:
            self.pump()

    def advance(self, ms: int) -> None:
        self.core.now += ms
        self.core.wall += ms
        self.core.tick()
        self.step()


class TestClient:
    __test__ = False  # not a pytest class

    def __init__(self, bench: Bench, cid: int) -> None:
        self.bench = bench
        self.cid = cid
        self.inbox = bytearray()
        self.closed = False
        self.xid = 0
        self.session_id = 0
        self.passwd = b""
        self.timeout = 0
        self.messages: list[Reply | Notification] = []

    # ---- wire ----------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.bench.core.data(self.cid, data)
        self.bench.step()

    def send_frame(self, payload: bytes) -> None:
        self.send_raw(INT.pack(len(payload)) + payload)

    def read(self) -> list[Reply | Notification]:
        """Decode everything received so far (after the connect response)."""
        buf = self.inbox
        pos = 0
        while len(buf) - pos >= 4:
            n = INT.unpack_from(buf, pos)[0]
            if len(buf) - pos - 4 < n:
                break
            body = bytes(buf[pos + 4 : pos + 4 + n])
            pos += 4 + n
            xid, zxid, err = REPLY_HEADER.unpack_from(body, 0)
            if xid == -1:
                r = Reader(body, 16)
                self.messages.append(Notification(r.int(), r.int(), r.ustring() or ""))
            else:
                self.messages.append(Reply(xid, zxid, err, body[16:]))
        del buf[:pos]
        out, self.messages = self.messages, []
        return out

    # ---- session ---------------------------------------------------------------------------------

    def connect(self, timeout: int = 4000, session_id: int = 0, passwd: bytes = b"") -> tuple:
        req = ConnectRequest(0, 0, timeout, session_id, passwd or bytes(16), False, True)
        self.send_frame(req.encode())
        buf = self.inbox
        if len(buf) < 4:
            return (None,)
        n = INT.unpack_from(buf, 0)[0]
        r = Reader(bytes(buf[4 : 4 + n]))
        del buf[: 4 + n]
        _pv, timeout, sid, pw = r.int(), r.int(), r.long(), r.buffer() or b""
        if sid:
            self.session_id, self.passwd, self.timeout = sid, pw, timeout
        return timeout, sid, pw

    # ---- requests ----------------------------------------------------------------------------------

    def request(self, op: int, body: bytes = b"", xid: int | None = None, send: bool = True) -> int:
        if xid is None:
            self.xid += 1
            xid = self.xid
        frame = Writer().int(xid).int(op).raw(body).bytes()
        if send:
            self.send_frame(frame)
        else:
            self.pending_frame = INT.pack(len(frame)) + frame
        return xid

    def call(self, op: int, body: bytes = b"") -> Reply:
        xid = self.request(op, body)
        for m in self.read():
            if isinstance(m, Reply) and m.xid == xid:
                return m
        raise AssertionError(f"no reply to xid {xid}")

    def create(
        self,
        path: str,
        data: bytes = b"",
        flags: int = 0,
        acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE,
        op: int = OpCode.CREATE2,
        ttl: int = -1,
    ) -> Reply:
        w = Writer().ustring(path).buffer(data).vector(acl, write_acl).int(flags)
        if op == OpCode.CREATE_TTL:
            w.long(ttl)
        return self.call(op, w.bytes())

    def get(self, path: str, watch: bool = False) -> Reply:
        return self.call(OpCode.GET_DATA, Writer().ustring(path).bool(watch).bytes())

    def exists(self, path: str, watch: bool = False) -> Reply:
        return self.call(OpCode.EXISTS, Writer().ustring(path).bool(watch).bytes())

    def children(self, path: str, watch: bool = False) -> Reply:
        return self.call(OpCode.GET_CHILDREN2, Writer().ustring(path).bool(watch).bytes())

    def set(self, path: str, data: bytes, version: int = -1) -> Reply:
        return self.call(OpCode.SET_DATA, Writer().ustring(path).buffer(data).int(version).bytes())

    def delete(self, path: str, version: int = -1) -> Reply:
        return self.call(OpCode.DELETE, Writer().ustring(path).int(version).bytes())

    def close_session(self) -> Reply:
        return self.call(OpCode.CLOSE_SESSION)
