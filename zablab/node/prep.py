"""Request -> txn at the primary, as ZooKeeper's PrepRequestProcessor.

Validation runs against the committed tree *plus* the changes of txns that are proposed but not
yet applied (ZooKeeper's outstandingChanges), so many writes can be in flight while the log
fsyncs and each is still checked against the state it will be applied to.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass, field

from . import acl as acls
from . import quota
from .acl import KeeperError
from .datatree import SPECIAL_PATHS, DataTree, parent_of
from .jute import Reader, Writer
from .metrics import ServerMetrics
from .options import ServerOptions
from .protocol import (
    ACL,
    CONTAINER_EPHEMERAL_OWNER,
    EPHEMERAL,
    EPHEMERAL_SEQUENTIAL,
    MAX_TTL,
    PERSISTENT_SEQUENTIAL,
    PERSISTENT_SEQUENTIAL_WITH_TTL,
    PERSISTENT_WITH_TTL,
    CheckVersionRequest,
    CreateRequest,
    DeleteRequest,
    Err,
    Id,
    MultiRequest,
    OpCode,
    Perm,
    SetACLRequest,
    SetDataRequest,
    client_owner,
    decode_body,
    ttl_of,
    ttl_owner,
)
from .sessions import SessionTracker
from .txn import (
    CheckVersionTxn,
    CloseSessionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
)


@dataclass(slots=True)
class WriteRequest:
    """A write from a local session; `raw` is the request body as the client sent it, so a
    ZAB follower can forward the request to the leader as bytes (`encode`/`decode`)."""

    session_id: int
    cxid: int
    type: int
    body: object
    auth: list[Id] = field(default_factory=list)
    raw: bytes = b""

    def encode(self) -> bytes:
        w = Writer().long(self.session_id).int(self.cxid).int(self.type)
        w.vector(self.auth, lambda w, i: w.ustring(i.scheme).ustring(i.id))
        if self.type == OpCode.CREATE_SESSION:
            assert isinstance(self.body, int)
            return w.int(self.body).bytes()
        return w.buffer(self.raw).bytes()

    @classmethod
    def decode(cls, data: bytes) -> WriteRequest:
        r = Reader(data)
        sid, cxid, typ = r.long(), r.int(), r.int()
        auth = r.vector(lambda r: Id(r.ustring() or "", r.ustring() or "")) or []
        if typ == OpCode.CREATE_SESSION:
            return cls(sid, cxid, typ, r.int(), auth)
        raw = r.buffer() or b""
        return cls(sid, cxid, typ, decode_body(typ, Reader(raw)), auth, raw)


class Change:
    """What a path will look like once the pending txns are applied (None fields: deleted)."""

    __slots__ = (
        "zxid",
        "path",
        "exists",
        "version",
        "cversion",
        "aversion",
        "owner",
        "nchild",
        "acl",
    )

    def __init__(
        self,
        zxid: int,
        path: str,
        exists: bool,
        version: int = 0,
        cversion: int = 0,
        aversion: int = 0,
        owner: int = 0,
        nchild: int = 0,
        acl: tuple[ACL, ...] = (),
    ) -> None:
        self.zxid = zxid
        self.path = path
        self.exists = exists
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.owner = owner
        self.nchild = nchild
        self.acl = acl

    def copy(self, zxid: int) -> Change:
        return Change(
            zxid,
            self.path,
            self.exists,
            self.version,
            self.cversion,
            self.aversion,
            self.owner,
            self.nchild,
            self.acl,
        )


# Paths whose every component starts with a letter, digit, "_" or "-" and holds only those and
# "." are valid (no empty, "." or ".." component, no control or reserved character): nearly
# every path a client sends, checked in one match instead of a loop over its characters.
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+")


def validate_path(path: str) -> None:
    """ZooKeeper's PathUtils.validatePath; BADARGUMENTS on any violation."""
    if _PLAIN_PATH.fullmatch(path):
        return
    if not path or path[0] != "/":
        raise KeeperError(Err.BADARGUMENTS)
    if len(path) == 1:
        return
    if path[-1] == "/":
        raise KeeperError(Err.BADARGUMENTS)
    last = "/"
    n = len(path)
    for i in range(1, n):
        c = path[i]
        o = ord(c)
        if o == 0:
            raise KeeperError(Err.BADARGUMENTS)
        if c == "/" and last == "/":
            raise KeeperError(Err.BADARGUMENTS)
        if c == "." and last == ".":
            if path[i - 2] == "/" and (i + 1 == n or path[i + 1] == "/"):
                raise KeeperError(Err.BADARGUMENTS)
        elif c == ".":
            if path[i - 1] == "/" and (i + 1 == n or path[i + 1] == "/"):
                raise KeeperError(Err.BADARGUMENTS)
        elif 0 < o <= 0x1F or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xF8FF or o >= 0xFFF0:
            raise KeeperError(Err.BADARGUMENTS)
        last = c


def check_version(current: int, expected: int) -> int:
    if expected != -1 and expected != current:
        raise KeeperError(Err.BADVERSION)
    return -2147483648 if current == 2147483647 else current + 1


SEQUENTIAL_MODES = (PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL, PERSISTENT_SEQUENTIAL_WITH_TTL)
TTL_MODES = (PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL)


def create_owner(typ: int, flags: int, ttl: int, session_id: int, extended: bool) -> int:
    """The ephemeralOwner a create makes, or the KeeperError ZooKeeper 3.8 answers.

    As ZooKeeper's PrepRequestProcessor: the opcode, not the flags, makes a container
    (createContainer) or a TTL node (createTTL); create and create2 with the container flag
    make a plain persistent node, since their CreateTxn has no field to say otherwise. The flags
    must name a CreateMode; TTL modes need extendedTypesEnabled and a TTL in 1..MAX_TTL, other
    modes no TTL. One deliberate difference: createTTL with a non-TTL mode and no TTL (-1)
    crashes Apache ZooKeeper 3.8 when it applies the txn; zablab answers BadArguments.
    """
    if not 0 <= flags <= 6:
        raise KeeperError(Err.BADARGUMENTS)
    is_ttl = flags in TTL_MODES
    if is_ttl and not extended:
        raise KeeperError(Err.UNIMPLEMENTED)
    if is_ttl:
        if not 0 < ttl <= MAX_TTL:
            raise KeeperError(Err.BADARGUMENTS)
    elif ttl >= 0 or typ == OpCode.CREATE_TTL:
        raise KeeperError(Err.BADARGUMENTS)
    if typ == OpCode.CREATE_CONTAINER:
        return CONTAINER_EPHEMERAL_OWNER
    if typ == OpCode.CREATE_TTL:
        return ttl_owner(ttl)
    return session_id if flags in (EPHEMERAL, EPHEMERAL_SEQUENTIAL) else 0


log = logging.getLogger("zablab.node")


class Prep:
    def __init__(
        self,
        tree: DataTree,
        tracker: SessionTracker,
        options: ServerOptions | None = None,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self.tree = tree
        self.tracker = tracker
        self.options = options or ServerOptions()
        self.metrics = metrics or ServerMetrics()
        self._quota_logged: dict[tuple[str, str], int] = {}  # (path, what) -> time logged
        self._time = 0
        self.pending: dict[str, Change] = {}
        self.order: deque[Change] = deque()

    # ---- pending-change overlay ---------------------------------------------------------------

    def record(self, path: str) -> Change:
        c = self.pending.get(path)
        if c is not None:
            if not c.exists:
                raise KeeperError(Err.NONODE)
            return c
        n = self.tree.nodes.get(path)
        if n is None:
            raise KeeperError(Err.NONODE)
        return Change(
            -1, path, True, n.version, n.cversion, n.aversion, n.owner, len(n.children), n.acl
        )

    def _add(self, c: Change) -> None:
        self.pending[c.path] = c
        self.order.append(c)
        self.metrics.outstanding_changes_queued.value += 1

    def committed(self, zxid: int) -> None:
        """Forget pending changes made by txns up to `zxid` (now visible in the tree)."""
        order = self.order
        while order and order[0].zxid <= zxid:
            c = order.popleft()
            self.metrics.outstanding_changes_removed.value += 1
            if self.pending.get(c.path) is c:
                del self.pending[c.path]

    def reset(self) -> None:
        self.pending.clear()
        self.order.clear()

    # ---- requests -----------------------------------------------------------------------------

    def prep(
        self, req: WriteRequest, zxid: int, time: int, *, agreed_sessions: bool = False
    ) -> Txn:
        """Turn a write request into the txn to log; failures become error txns.

        ``agreed_sessions``: a session is live if the tree's replicated session table holds
        it, not this server's tracker (whose expiry marks are the primary's own), so that
        every server prepping the same request at delivery reaches the same txn.
        """
        typ = req.type
        self._time = time
        try:
            if typ == OpCode.CREATE_SESSION:
                assert isinstance(req.body, int)
                return Txn(req.session_id, req.cxid, zxid, time, typ, CreateSessionTxn(req.body))
            if typ == OpCode.CLOSE_SESSION:
                self._close_session(req.session_id, zxid)
                return Txn(req.session_id, req.cxid, zxid, time, typ, CloseSessionTxn())
            if typ == OpCode.DELETE_CONTAINER:  # from the server's container reaper
                return Txn(0, 0, zxid, time, typ, self._delete_container(req.body, zxid))
            live = (
                req.session_id in self.tree.sessions
                if agreed_sessions
                else self.tracker.check(req.session_id)
            )
            if not live:
                raise KeeperError(Err.SESSIONEXPIRED)
            if typ == OpCode.MULTI:
                assert isinstance(req.body, MultiRequest)
                return Txn(req.session_id, req.cxid, zxid, time, typ, self._multi(req, zxid))
            t, body = self._one(typ, req.body, req, zxid)
            return Txn(req.session_id, req.cxid, zxid, time, t, body)
        except KeeperError as e:
            return Txn(req.session_id, req.cxid, zxid, time, OpCode.ERROR, ErrorTxn(e.code))

    def _check_quota(self, path: str, count_diff: int, bytes_diff: int) -> None:
        """ZooKeeperServer.checkQuota against the committed usage: a passed limit is logged
        (at most once a minute per quota and kind), a hard one refuses the write when
        enforceQuota is on."""
        tree = self.tree
        prefix = quota.quota_prefix(tree.quotas, path)
        if prefix is None:
            return
        limits_node = tree.nodes.get(quota.limits_path(prefix))
        stats_node = tree.nodes.get(quota.stats_path(prefix))
        if limits_node is None or stats_node is None:
            return
        try:
            limits, usage = quota.parse(limits_node.data), quota.parse(stats_node.data)
        except ValueError:
            return
        refuse = False
        for what, new, limit, hard in quota.exceeded(limits, usage, count_diff, bytes_diff):
            key = (prefix, what)
            if self._time - self._quota_logged.get(key, -60_000) >= 60_000:
                self._quota_logged[key] = self._time
                log.warning(
                    "Quota exceeded: %s [current %s=%d, %s%sLimit=%d]",
                    prefix,
                    what,
                    new,
                    "hard" if hard else "soft",
                    "Count" if what == "count" else "Byte",
                    limit,
                )
            refuse = refuse or (hard and self.options.enforce_quota)
        if refuse:
            raise KeeperError(Err.QUOTAEXCEEDED)

    def _close_session(self, sid: int, zxid: int) -> None:
        es = set(self.tree.ephemerals.get(sid, ()))
        for c in self.order:
            if not c.exists:
                es.discard(c.path)
            elif c.owner == sid:
                es.add(c.path)
        for p in sorted(es):
            self._add(Change(zxid, p, False))
        self.tracker.set_closing(sid)

    def _multi(self, req: WriteRequest, zxid: int) -> MultiTxn:
        assert isinstance(req.body, MultiRequest)
        saved = dict(self.pending)
        mark = len(self.order)
        out: list[tuple[int, object]] = []
        failed = False
        for typ, body in req.body.ops:
            if failed:
                out.append((OpCode.ERROR, ErrorTxn(Err.RUNTIMEINCONSISTENCY)))
                continue
            try:
                if typ in (OpCode.GET_DATA, OpCode.GET_CHILDREN):
                    raise KeeperError(Err.BADARGUMENTS)
                out.append(self._one(typ, body, req, zxid))
            except KeeperError as e:
                failed = True
                out.append((OpCode.ERROR, ErrorTxn(e.code)))
                while len(self.order) > mark:
                    self.order.pop()
                self.pending = saved
        return MultiTxn(out)

    def _one(self, typ: int, body: object, req: WriteRequest, zxid: int) -> tuple[int, object]:
        if typ in (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
            assert isinstance(body, CreateRequest)
            return self._create(typ, body, req, zxid)
        if typ in (OpCode.DELETE, OpCode.DELETE_CONTAINER):
            assert isinstance(body, DeleteRequest)
            return self._delete(typ, body, req, zxid)
        if typ == OpCode.SET_DATA:
            assert isinstance(body, SetDataRequest)
            validate_path(body.path)
            rec = self.record(body.path)
            acls.check(rec.acl, Perm.WRITE, req.auth)
            v = check_version(rec.version, body.version)
            if self.tree.quotas:
                old = self.tree.nodes.get(body.path)  # as ZooKeeper: the committed tree
                grow = len(body.data or b"") - len(old.data or b"" if old else b"")
                self._check_quota(body.path, 0, grow)
            rec = rec.copy(zxid)
            rec.version = v
            self._add(rec)
            return typ, SetDataTxn(body.path, body.data, v)
        if typ == OpCode.SET_ACL:
            assert isinstance(body, SetACLRequest)
            validate_path(body.path)
            new_acl = acls.fixup(body.acl, req.auth)
            rec = self.record(body.path)
            acls.check(rec.acl, Perm.ADMIN, req.auth)
            v = check_version(rec.aversion, body.version)
            rec = rec.copy(zxid)
            rec.aversion = v
            rec.acl = tuple(new_acl)
            self._add(rec)
            return typ, SetACLTxn(body.path, new_acl, v)
        if typ == OpCode.CHECK:
            assert isinstance(body, CheckVersionRequest)
            validate_path(body.path)
            rec = self.record(body.path)
            acls.check(rec.acl, Perm.READ, req.auth)
            return typ, CheckVersionTxn(body.path, check_version(rec.version, body.version))
        if typ == OpCode.RECONFIG:
            raise KeeperError(Err.RECONFIGDISABLED)
        raise KeeperError(Err.UNIMPLEMENTED)

    def _create(
        self, typ: int, body: CreateRequest, req: WriteRequest, zxid: int
    ) -> tuple[int, object]:
        flags = body.flags
        ttl = body.ttl if typ == OpCode.CREATE_TTL else -1
        owner = create_owner(typ, flags, ttl, req.session_id, self.options.extended_types)
        path = body.path
        i = path.rfind("/")
        if i == -1 or "\0" in path:
            raise KeeperError(Err.BADARGUMENTS)
        ppath = path[:i] or "/"
        new_acl = acls.fixup(body.acl, req.auth)
        parent = self.record(ppath)
        acls.check(parent.acl, Perm.CREATE, req.auth)
        if flags in SEQUENTIAL_MODES:
            path = f"{path}{parent.cversion:010d}"
        validate_path(path)
        c = self.pending.get(path)
        if (c is not None and c.exists) or (c is None and path in self.tree.nodes):
            raise KeeperError(Err.NODEEXISTS)
        if client_owner(parent.owner) != 0:  # a session's node: containers and TTLs show 0
            raise KeeperError(Err.NOCHILDRENFOREPHEMERALS)
        if self.tree.quotas:
            self._check_quota(path, 1, len(body.data or b""))
        newcv = parent.cversion + 1
        parent = parent.copy(zxid)
        parent.nchild += 1
        parent.cversion = newcv
        self._add(parent)
        self._add(Change(zxid, path, True, 0, 0, 0, owner, 0, tuple(new_acl)))
        return typ, CreateTxn(path, body.data, new_acl, owner, newcv)

    def _delete_container(self, body: object, zxid: int) -> DeleteTxn:
        assert isinstance(body, DeleteRequest)
        path = body.path
        if path.rfind("/") == -1 or path in SPECIAL_PATHS:
            raise KeeperError(Err.BADARGUMENTS)
        parent = self.record(parent_of(path))
        rec = self.record(path)
        if rec.nchild > 0:
            raise KeeperError(Err.NOTEMPTY)
        if rec.owner != CONTAINER_EPHEMERAL_OWNER and not ttl_of(rec.owner):
            raise KeeperError(Err.BADVERSION)  # the reaper's deleteContainer spares other nodes
        parent = parent.copy(zxid)
        parent.nchild -= 1
        self._add(parent)
        self._add(Change(zxid, path, False))
        return DeleteTxn(path)

    def _delete(
        self, typ: int, body: DeleteRequest, req: WriteRequest, zxid: int
    ) -> tuple[int, object]:
        path = body.path
        i = path.rfind("/")
        if i == -1 or "\0" in path or path in SPECIAL_PATHS:
            raise KeeperError(Err.BADARGUMENTS)
        parent = self.record(parent_of(path))
        acls.check(parent.acl, Perm.DELETE, req.auth)
        rec = self.record(path)
        check_version(rec.version, body.version)
        if rec.nchild > 0:
            raise KeeperError(Err.NOTEMPTY)
        parent = parent.copy(zxid)
        parent.nchild -= 1
        self._add(parent)
        self._add(Change(zxid, path, False))
        return typ, DeleteTxn(path)
