"""The ZooKeeper client side of the wire, sans-IO: frames out, replies in, no sockets.

The simulated clients send the bytes a real client sends (a connect request, then request
headers and bodies) and parse the server's replies, so the server core's framing, session
handling and reply encoding run in the simulation exactly as they do under kazoo.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from zablab.node.jute import INT, REPLY_HEADER, Reader, Writer
from zablab.node.protocol import (
    OPEN_ACL_UNSAFE,
    STAT,
    CheckVersionRequest,
    ConnectRequest,
    OpCode,
    SetDataRequest,
    Xid,
    encode_multi_request,
    write_acl,
)
from zablab.node.reads import MULTI_HEADER

_LEN_XID_OP = struct.Struct(">iii")


@dataclass(frozen=True, slots=True)
class Request:
    op: int
    body: bytes = b""


# made for every answer: a plain slotted record (a frozen dataclass's __init__ costs about
# twice as much, through object.__setattr__ per field)
@dataclass(slots=True)
class Reply:
    xid: int
    zxid: int  # the server's last zxid when it answered
    err: int
    body: bytes

    def stat(self, offset: int = 0) -> tuple[int, ...]:
        """(czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, len, children,
        pzxid) at ``offset`` of the body."""
        return STAT.unpack_from(self.body, offset)


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    passwd: bytes
    timeout: int


# The read requests of a workload name a few fixed paths: each is encoded once (a Request is
# frozen, so one object serves every op).
@functools.lru_cache(maxsize=256)
def get_data(path: str) -> Request:
    return Request(OpCode.GET_DATA, Writer().ustring(path).bool(False).bytes())


def set_data(path: str, data: bytes, version: int = -1) -> Request:
    return Request(OpCode.SET_DATA, Writer().ustring(path).buffer(data).int(version).bytes())


def create(path: str, data: bytes = b"", flags: int = 0) -> Request:
    w = Writer().ustring(path).buffer(data).vector(OPEN_ACL_UNSAFE, write_acl).int(flags)
    return Request(OpCode.CREATE, w.bytes())


@functools.lru_cache(maxsize=256)
def sync(path: str) -> Request:
    return Request(OpCode.SYNC, Writer().ustring(path).bytes())


def get_children(path: str) -> Request:
    return Request(OpCode.GET_CHILDREN, Writer().ustring(path).bool(False).bytes())


def exists(path: str, watch: bool = False) -> Request:
    return Request(OpCode.EXISTS, Writer().ustring(path).bool(watch).bytes())


def delete(path: str, version: int = -1) -> Request:
    return Request(OpCode.DELETE, Writer().ustring(path).int(version).bytes())


def check_and_set(check: str, version: int, path: str, data: bytes) -> Request:
    """A multi: ``check`` still has ``version`` and ``path`` gets ``data``, or neither."""
    body = encode_multi_request(
        [
            (OpCode.CHECK, CheckVersionRequest(check, version)),
            (OpCode.SET_DATA, SetDataRequest(path, data, -1)),
        ]
    )
    return Request(OpCode.MULTI, body)


def multi_failed(r: Reply) -> bool:
    """A multi's reply: did any of its ops fail (so none took effect)?"""
    if r.err:
        return True
    typ, _done, _err = MULTI_HEADER.unpack_from(r.body, 0)
    return bool(typ == OpCode.ERROR)


def data_and_stat(r: Reply) -> tuple[bytes, tuple[int, ...]]:
    """A getData reply's data and stat."""
    rd = Reader(r.body)
    data = rd.buffer() or b""
    return data, r.stat(len(r.body) - STAT.size)


def path_of(r: Reply) -> str:
    return Reader(r.body).ustring() or ""


def children_of(r: Reply) -> list[str]:
    return Reader(r.body).strings()


class WireConn:
    """One connection: the connect handshake first, then requests numbered by xid."""

    def __init__(self, session: Session | None, last_zxid: int, timeout: int) -> None:
        self.session = session
        self.last_zxid = last_zxid
        self.timeout = timeout
        self.connected = False
        self.xid = 0
        self._buf = bytearray()

    def connect_frame(self) -> bytes:
        s = self.session
        req = ConnectRequest(
            0,
            self.last_zxid,
            self.timeout,
            s.id if s else 0,
            s.passwd if s else bytes(16),
            False,
            True,
        )
        return _framed(req.encode())

    def frame(self, req: Request) -> tuple[int, bytes]:
        self.xid += 1
        body = req.body  # length, xid, op, body: what Writer would build, in one pack
        return self.xid, _LEN_XID_OP.pack(8 + len(body), self.xid, req.op) + body

    @staticmethod
    def ping_frame() -> bytes:
        return _framed(Writer().int(Xid.PING).int(OpCode.PING).bytes())

    def receive(self, data: bytes) -> tuple[Session | None, list[Reply], list[str]]:
        """Feed bytes; returns the connect answer (once: a session, or one with id 0 when the
        server refused to resume it), the replies completed so far (pings left out), and the
        paths of the watch events that fired."""
        self._buf += data
        answer: Session | None = None
        out: list[Reply] = []
        events: list[str] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 4:
            (n,) = INT.unpack_from(buf, pos)
            if len(buf) - pos - 4 < n:
                break
            body = bytes(buf[pos + 4 : pos + 4 + n])
            pos += 4 + n
            if not self.connected:
                r = Reader(body)
                _pv, timeout, sid, pw = r.int(), r.int(), r.long(), r.buffer() or b""
                self.connected = True
                answer = Session(sid, pw, timeout)
                continue
            xid, zxid, err = REPLY_HEADER.unpack_from(body, 0)
            if zxid > self.last_zxid:
                self.last_zxid = zxid
            if xid >= 0:
                out.append(Reply(xid, zxid, err, body[REPLY_HEADER.size :]))
            elif xid == Xid.NOTIFICATION:
                r = Reader(body, REPLY_HEADER.size)
                r.int(), r.int()  # event type and keeper state: any event wakes the waiter
                events.append(r.ustring() or "")
        del buf[:pos]
        return answer, out, events


def _framed(payload: bytes) -> bytes:
    return INT.pack(len(payload)) + payload
