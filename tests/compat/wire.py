"""A blocking client that speaks ZooKeeper's wire protocol opcode by opcode.

kazoo and zkCli choose the opcode and flags for their callers; the differential tests need to
send combinations no client library sends (createTTL with a persistent flag, create with the
container bit), so this client takes the opcode and the raw fields.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from zablab.node.jute import INT, REPLY_HEADER, Reader, Writer
from zablab.node.protocol import OPEN_ACL_UNSAFE, STAT, ConnectRequest, OpCode, write_acl


@dataclass(frozen=True)
class Answer:
    """One reply: the error code, and for a successful create the path and Stat."""

    err: int
    body: bytes

    def path(self) -> str:
        return Reader(self.body).ustring() or ""

    def stat(self, offset: int) -> tuple[int, ...]:
        return STAT.unpack_from(self.body, offset)


class WireClient:
    """One session on one socket; every call waits for its own reply (notifications skipped)."""

    def __init__(self, host: str, port: int, timeout_ms: int = 10_000) -> None:
        self.sock = socket.create_connection((host, port), timeout=15)
        self.xid = 0
        req = ConnectRequest(0, 0, timeout_ms, 0, bytes(16), False, True)
        self._send(req.encode())
        r = Reader(self._frame())
        r.int()
        self.timeout = r.int()
        self.session_id = r.long()

    def _send(self, payload: bytes) -> None:
        self.sock.sendall(INT.pack(len(payload)) + payload)

    def _exactly(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("server closed the connection")
            out += chunk
        return bytes(out)

    def _frame(self) -> bytes:
        return self._exactly(struct.unpack(">i", self._exactly(4))[0])

    def call(self, op: int, body: bytes) -> Answer:
        self.xid += 1
        self._send(Writer().int(self.xid).int(op).raw(body).bytes())
        while True:
            frame = self._frame()
            xid, _zxid, err = REPLY_HEADER.unpack_from(frame, 0)
            if xid == self.xid:
                return Answer(err, frame[16:])

    def create(self, op: int, path: str, data: bytes, flags: int, ttl: int = -1) -> Answer:
        """create (1), create2 (15), createContainer (19) or createTTL (21) as sent raw."""
        w = Writer().ustring(path).buffer(data).vector(OPEN_ACL_UNSAFE, write_acl).int(flags)
        if op == OpCode.CREATE_TTL:
            w.long(ttl)
        return self.call(op, w.bytes())

    def children(self, path: str) -> tuple[int, list[str]]:
        a = self.call(OpCode.GET_CHILDREN, Writer().ustring(path).bool(False).bytes())
        if a.err:
            return a.err, []
        return 0, sorted(Reader(a.body).strings())

    def get(self, path: str) -> tuple[int, bytes | None, tuple[int, ...]]:
        """(error, data, Stat) of getData."""
        a = self.call(OpCode.GET_DATA, Writer().ustring(path).bool(False).bytes())
        if a.err:
            return a.err, None, ()
        r = Reader(a.body)
        data = r.buffer()
        return 0, data, STAT.unpack_from(a.body, r.pos)

    def delete(self, path: str) -> int:
        return self.call(OpCode.DELETE, Writer().ustring(path).int(-1).bytes()).err

    def close(self) -> None:
        try:
            self.call(OpCode.CLOSE_SESSION, b"")
        except OSError:
            pass
        self.sock.close()
