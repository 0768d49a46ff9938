"""Transactions: the unit that is logged, replicated and applied to the data tree.

A txn is fully decided at the primary (versions, sequence names, cversions), so applying it is
deterministic on every replica. Layouts follow ZooKeeper's txn.jute; the payload is the
TxnHeader followed by the body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .jute import Reader, Writer
from .protocol import ACL, OpCode, read_acls, write_acl

HEADER = struct.Struct(">qiqqi")  # clientId, cxid, zxid, time, type


@dataclass(slots=True)
class CreateTxn:
    path: str
    data: bytes | None  # None: the client sent null data, and gets null back
    acl: list[ACL]
    ephemeral_owner: int  # 0, the session, or the container/TTL marker
    parent_cversion: int


@dataclass(slots=True)
class DeleteTxn:
    path: str


@dataclass(slots=True)
class SetDataTxn:
    path: str
    data: bytes | None
    version: int


@dataclass(slots=True)
class CheckVersionTxn:
    path: str
    version: int


@dataclass(slots=True)
class SetACLTxn:
    path: str
    acl: list[ACL]
    version: int


@dataclass(slots=True)
class CreateSessionTxn:
    timeout: int


@dataclass(slots=True)
class CloseSessionTxn:
    pass


@dataclass(slots=True)
class ErrorTxn:
    err: int


@dataclass(slots=True)
class MultiTxn:
    txns: list[tuple[int, object]]  # (opcode or OpCode.ERROR, body)


Body = (
    CreateTxn
    | DeleteTxn
    | SetDataTxn
    | CheckVersionTxn
    | SetACLTxn
    | CreateSessionTxn
    | CloseSessionTxn
    | ErrorTxn
    | MultiTxn
)

CREATE_TYPES = (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL)


@dataclass(slots=True)
class Txn:
    client_id: int
    cxid: int
    zxid: int
    time: int  # ms since the epoch at the primary
    type: int
    body: object

    def encode(self) -> bytes:
        w = Writer()
        w.buf += HEADER.pack(self.client_id, self.cxid, self.zxid, self.time, self.type)
        _write_body(w, self.type, self.body)
        return w.bytes()

    @classmethod
    def decode(cls, payload: bytes) -> Txn:
        cid, cxid, zxid, t, typ = HEADER.unpack_from(payload, 0)
        r = Reader(payload, HEADER.size)
        return cls(cid, cxid, zxid, t, typ, _read_body(r, typ))


def _write_body(w: Writer, typ: int, b: object) -> None:
    if typ in CREATE_TYPES:
        assert isinstance(b, CreateTxn)
        w.ustring(b.path).buffer(b.data).vector(b.acl, write_acl)
        w.long(b.ephemeral_owner).int(b.parent_cversion)
    elif typ in (OpCode.DELETE, OpCode.DELETE_CONTAINER):
        assert isinstance(b, DeleteTxn)
        w.ustring(b.path)
    elif typ == OpCode.SET_DATA:
        assert isinstance(b, SetDataTxn)
        w.ustring(b.path).buffer(b.data).int(b.version)
    elif typ == OpCode.CHECK:
        assert isinstance(b, CheckVersionTxn)
        w.ustring(b.path).int(b.version)
    elif typ == OpCode.SET_ACL:
        assert isinstance(b, SetACLTxn)
        w.ustring(b.path).vector(b.acl, write_acl).int(b.version)
    elif typ == OpCode.CREATE_SESSION:
        assert isinstance(b, CreateSessionTxn)
        w.int(b.timeout)
    elif typ == OpCode.ERROR:
        assert isinstance(b, ErrorTxn)
        w.int(b.err)
    elif typ == OpCode.MULTI:
        assert isinstance(b, MultiTxn)
        w.int(len(b.txns))
        for st, sb in b.txns:
            sub = Writer()
            _write_body(sub, st, sb)
            w.int(st).buffer(bytes(sub.buf))
    # closeSession: no body


def _read_body(r: Reader, typ: int) -> object:
    if typ in CREATE_TYPES:
        return CreateTxn(r.ustring() or "", r.buffer(), read_acls(r), r.long(), r.int())
    if typ in (OpCode.DELETE, OpCode.DELETE_CONTAINER):
        return DeleteTxn(r.ustring() or "")
    if typ == OpCode.SET_DATA:
        return SetDataTxn(r.ustring() or "", r.buffer(), r.int())
    if typ == OpCode.CHECK:
        return CheckVersionTxn(r.ustring() or "", r.int())
    if typ == OpCode.SET_ACL:
        return SetACLTxn(r.ustring() or "", read_acls(r), r.int())
    if typ == OpCode.CREATE_SESSION:
        return CreateSessionTxn(r.int())
    if typ == OpCode.CLOSE_SESSION:
        return CloseSessionTxn()
    if typ == OpCode.ERROR:
        return ErrorTxn(r.int())
    if typ == OpCode.MULTI:
        n = r.int()
        txns = []
        for _ in range(n):
            st = r.int()
            data = r.buffer() or b""
            txns.append((st, _read_body(Reader(data), st)))
        return MultiTxn(txns)
    raise ValueError(f"unknown txn type {typ}")
