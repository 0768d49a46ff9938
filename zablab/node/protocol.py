"""ZooKeeper 3.8 client protocol: opcodes, error codes, and the records clients send and get.

Field order follows zookeeper.jute; values are what a 3.8 server puts on the wire, so kazoo and
zkCli cannot tell the difference.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .jute import INT, JuteError, Reader, Writer


class OpCode:
    NOTIFICATION = 0
    CREATE = 1
    DELETE = 2
    EXISTS = 3
    GET_DATA = 4
    SET_DATA = 5
    GET_ACL = 6
    SET_ACL = 7
    GET_CHILDREN = 8
    SYNC = 9
    PING = 11
    GET_CHILDREN2 = 12
    CHECK = 13
    MULTI = 14
    CREATE2 = 15
    RECONFIG = 16
    CHECK_WATCHES = 17
    REMOVE_WATCHES = 18
    CREATE_CONTAINER = 19
    DELETE_CONTAINER = 20
    CREATE_TTL = 21
    MULTI_READ = 22
    AUTH = 100
    SET_WATCHES = 101
    SASL = 102
    GET_EPHEMERALS = 103
    GET_ALL_CHILDREN_NUMBER = 104
    SET_WATCHES2 = 105
    ADD_WATCH = 106
    WHO_AM_I = 107
    CREATE_SESSION = -10
    CLOSE_SESSION = -11
    ERROR = -1


class Err:
    OK = 0
    SYSTEMERROR = -1
    RUNTIMEINCONSISTENCY = -2
    DATAINCONSISTENCY = -3
    CONNECTIONLOSS = -4
    MARSHALLINGERROR = -5
    UNIMPLEMENTED = -6
    OPERATIONTIMEOUT = -7
    BADARGUMENTS = -8
    UNKNOWNSESSION = -12
    NEWCONFIGNOQUORUM = -13
    RECONFIGINPROGRESS = -14
    APIERROR = -100
    NONODE = -101
    NOAUTH = -102
    BADVERSION = -103
    NOCHILDRENFOREPHEMERALS = -108
    NODEEXISTS = -110
    NOTEMPTY = -111
    SESSIONEXPIRED = -112
    INVALIDCALLBACK = -113
    INVALIDACL = -114
    AUTHFAILED = -115
    SESSIONMOVED = -118
    NOTREADONLY = -119
    EPHEMERALONLOCALSESSION = -120
    NOWATCHER = -121
    RECONFIGDISABLED = -123
    QUOTAEXCEEDED = -125
    THROTTLEDOP = -127


class Event:
    NONE = -1
    NODE_CREATED = 1
    NODE_DELETED = 2
    NODE_DATA_CHANGED = 3
    NODE_CHILDREN_CHANGED = 4
    DATA_WATCH_REMOVED = 5
    CHILD_WATCH_REMOVED = 6
    PERSISTENT_WATCH_REMOVED = 7


class State:
    SYNC_CONNECTED = 3


class Perm:
    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


class Xid:
    NOTIFICATION = -1
    PING = -2
    AUTH = -4
    SET_WATCHES = -8


# CreateMode flags
PERSISTENT = 0
EPHEMERAL = 1
PERSISTENT_SEQUENTIAL = 2
EPHEMERAL_SEQUENTIAL = 3
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

CONTAINER_EPHEMERAL_OWNER = -(1 << 63)  # Long.MIN_VALUE, as ZooKeeper marks containers
# ZooKeeper's EphemeralType.TTL: the owner's top byte is 0xff and its low 40 bits hold the TTL
TTL_OWNER_MARK = -(1 << 56)
MAX_TTL = (1 << 40) - 1  # ms, about 34 years


def ttl_owner(ttl: int) -> int:
    """The ephemeralOwner that marks a TTL node (`ttl` in 1..MAX_TTL, checked by the caller)."""
    return TTL_OWNER_MARK | ttl


def ttl_of(owner: int) -> int:
    """The TTL (ms) a TTL node's owner carries; 0 for any other owner."""
    return owner & MAX_TTL if owner >> 56 == -1 else 0


def client_owner(owner: int) -> int:
    """The ephemeralOwner clients see: containers and TTL nodes show 0, as ZooKeeper's
    DataNode.copyStat reports them."""
    return 0 if owner == CONTAINER_EPHEMERAL_OWNER or owner >> 56 == -1 else owner


class ProtocolError(Exception):
    """The client broke the protocol; the connection is closed with this reason."""


@dataclass(frozen=True, slots=True)
class Id:
    scheme: str
    id: str


@dataclass(frozen=True, slots=True)
class ACL:
    perms: int
    id: Id


OPEN_ACL_UNSAFE = (ACL(Perm.ALL, Id("world", "anyone")),)
READ_ACL_UNSAFE = (ACL(Perm.READ, Id("world", "anyone")),)


def read_acl(r: Reader) -> ACL:
    perms = r.int()
    return ACL(perms, Id(r.ustring() or "", r.ustring() or ""))


def write_acl(w: Writer, a: ACL) -> None:
    w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id)


def read_acls(r: Reader) -> list[ACL]:
    return r.vector(read_acl) or []


STAT = struct.Struct(">qqqqiiiqiiq")  # 68 bytes


@dataclass(slots=True)
class ConnectRequest:
    protocol_version: int
    last_zxid_seen: int
    timeout: int
    session_id: int
    passwd: bytes
    read_only: bool
    has_read_only: bool

    @classmethod
    def decode(cls, r: Reader) -> ConnectRequest:
        pv = r.int()
        last = r.long()
        timeout = r.int()
        sid = r.long()
        pw = r.buffer() or b""
        has_ro = r.remaining() >= 1
        ro = r.bool() if has_ro else False
        return cls(pv, last, timeout, sid, pw, ro, has_ro)

    def encode(self) -> bytes:
        w = Writer().int(self.protocol_version).long(self.last_zxid_seen).int(self.timeout)
        w.long(self.session_id).buffer(self.passwd)
        if self.has_read_only:
            w.bool(self.read_only)
        return w.bytes()


def encode_connect_response(
    timeout: int, session_id: int, passwd: bytes, with_read_only: bool
) -> bytes:
    w = Writer().int(0).int(timeout).long(session_id).buffer(passwd)
    if with_read_only:
        w.bool(False)
    return w.bytes()


# ---- request bodies -------------------------------------------------------------------------


@dataclass(slots=True)
class CreateRequest:
    path: str
    data: bytes | None
    acl: list[ACL]
    flags: int
    ttl: int = -1


@dataclass(slots=True)
class DeleteRequest:
    path: str
    version: int


@dataclass(slots=True)
class SetDataRequest:
    path: str
    data: bytes | None
    version: int


@dataclass(slots=True)
class SetACLRequest:
    path: str
    acl: list[ACL]
    version: int


@dataclass(slots=True)
class CheckVersionRequest:
    path: str
    version: int


@dataclass(slots=True)
class PathWatchRequest:
    """exists, getData, getChildren, getChildren2: a path and a watch flag."""

    path: str
    watch: bool


@dataclass(slots=True)
class PathRequest:
    """sync, getACL, getAllChildrenNumber, getEphemerals: a path only."""

    path: str


@dataclass(slots=True)
class MultiRequest:
    ops: list[tuple[int, object]] = field(default_factory=list)


@dataclass(slots=True)
class SetWatches:
    relative_zxid: int
    data: list[str]
    exist: list[str]
    child: list[str]
    persistent: list[str] = field(default_factory=list)
    recursive: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AuthPacket:
    type: int
    scheme: str
    auth: bytes


@dataclass(slots=True)
class RemoveWatchesRequest:
    path: str
    type: int


@dataclass(slots=True)
class AddWatchRequest:
    path: str
    mode: int


def _path(r: Reader) -> str:
    p = r.ustring()
    return "" if p is None else p


def decode_create(r: Reader, ttl: bool = False) -> CreateRequest:
    path = _path(r)
    data = r.buffer()
    acl = read_acls(r)
    flags = r.int()
    t = r.long() if ttl else -1
    return CreateRequest(path, data, acl, flags, t)


def decode_body(op: int, r: Reader) -> object:
    """Decode the body of a request with opcode `op`; None for bodiless ones."""
    if op in (OpCode.GET_DATA, OpCode.EXISTS, OpCode.GET_CHILDREN, OpCode.GET_CHILDREN2):
        return PathWatchRequest(_path(r), r.bool())
    if op == OpCode.SET_DATA:
        return SetDataRequest(_path(r), r.buffer(), r.int())
    if op in (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER):
        return decode_create(r)
    if op == OpCode.CREATE_TTL:
        return decode_create(r, ttl=True)
    if op in (OpCode.DELETE, OpCode.DELETE_CONTAINER):
        path = _path(r)
        return DeleteRequest(path, r.int() if op == OpCode.DELETE else -1)
    if op == OpCode.CHECK:
        return CheckVersionRequest(_path(r), r.int())
    if op == OpCode.SET_ACL:
        return SetACLRequest(_path(r), read_acls(r), r.int())
    if op in (OpCode.SYNC, OpCode.GET_ACL, OpCode.GET_ALL_CHILDREN_NUMBER, OpCode.GET_EPHEMERALS):
        return PathRequest(_path(r))
    if op in (OpCode.MULTI, OpCode.MULTI_READ):
        return decode_multi(r)
    if op == OpCode.SET_WATCHES:
        return SetWatches(r.long(), r.strings(), r.strings(), r.strings())
    if op == OpCode.SET_WATCHES2:
        return SetWatches(r.long(), r.strings(), r.strings(), r.strings(), r.strings(), r.strings())
    if op == OpCode.AUTH:
        return AuthPacket(r.int(), r.ustring() or "", r.buffer() or b"")
    if op in (OpCode.REMOVE_WATCHES, OpCode.CHECK_WATCHES):
        return RemoveWatchesRequest(_path(r), r.int())
    if op == OpCode.ADD_WATCH:
        return AddWatchRequest(_path(r), r.int())
    return None


MULTI_OPS = frozenset(
    {
        OpCode.CREATE,
        OpCode.CREATE2,
        OpCode.CREATE_CONTAINER,
        OpCode.CREATE_TTL,
        OpCode.DELETE,
        OpCode.SET_DATA,
        OpCode.CHECK,
        OpCode.GET_CHILDREN,
        OpCode.GET_DATA,
    }
)


def decode_multi(r: Reader) -> MultiRequest:
    m = MultiRequest()
    while True:
        typ = r.int()
        done = r.bool()
        r.int()  # err
        if done:
            return m
        if typ not in MULTI_OPS:
            raise JuteError(f"invalid type of op in multi: {typ}")
        if typ in (OpCode.GET_CHILDREN, OpCode.GET_DATA):
            m.ops.append((typ, PathWatchRequest(_path(r), False)))
        else:
            m.ops.append((typ, decode_body(typ, r)))


def encode_multi_request(ops: list[tuple[int, object]]) -> bytes:
    """Client side (tests): the inverse of decode_multi for write ops."""
    w = Writer()
    for typ, body in ops:
        w.int(typ).bool(False).int(-1)
        if isinstance(body, CreateRequest):
            w.ustring(body.path).buffer(body.data).vector(body.acl, write_acl).int(body.flags)
        elif isinstance(body, DeleteRequest):
            w.ustring(body.path).int(body.version)
        elif isinstance(body, SetDataRequest):
            w.ustring(body.path).buffer(body.data).int(body.version)
        elif isinstance(body, CheckVersionRequest):
            w.ustring(body.path).int(body.version)
        elif isinstance(body, PathWatchRequest):
            w.ustring(body.path)
    w.int(-1).bool(True).int(-1)
    return w.bytes()


# ---- replies ----------------------------------------------------------------------------------


def frame(payload: bytes | bytearray) -> bytes:
    return INT.pack(len(payload)) + payload


def encode_event(typ: int, path: str) -> bytes:
    """A whole framed notification (xid -1, zxid -1) for a one-shot or persistent watch."""
    p = path.encode("utf-8")
    body = struct.pack(">iqiiii", Xid.NOTIFICATION, -1, 0, typ, State.SYNC_CONNECTED, len(p)) + p
    return INT.pack(len(body)) + body
