"""The znode tree. Applying a txn is deterministic: every replica that applies the same txns in
the same order holds the same tree, byte for byte (see `serialize`).

Watch triggers are returned, not fired, because which connection gets an event is the server's
business, not the tree's.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import quota
from .jute import Reader, Writer
from .protocol import (
    ACL,
    CONTAINER_EPHEMERAL_OWNER,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    STAT,
    Err,
    Event,
    OpCode,
    client_owner,
    read_acls,
    write_acl,
)
from .txn import (
    CREATE_TYPES,
    CheckVersionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
)

# trigger kinds
DATA = 0  # data watches on path
CHILD = 1  # child watches on path
DELETED = 2  # data watches then child watches (each watcher notified once), NodeDeleted

SPECIAL_PATHS = frozenset({"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"})

Trigger = tuple[int, str, int]  # (kind, path, event type)


class Node:
    __slots__ = (
        "data",
        "acl",
        "czxid",
        "mzxid",
        "ctime",
        "mtime",
        "version",
        "cversion",
        "aversion",
        "owner",
        "pzxid",
        "children",
        "_stat",
    )

    def __init__(
        self, data: bytes | None, acl: tuple[ACL, ...], zxid: int, time: int, owner: int
    ) -> None:
        self.data = data
        self.acl = acl
        self.czxid = self.mzxid = self.pzxid = zxid
        self.ctime = self.mtime = time
        self.version = self.cversion = self.aversion = 0
        self.owner = owner
        self.children: set[str] = set()
        self._stat: bytes | None = None

    def stat(self) -> bytes:
        """The 68-byte jute Stat, cached until the node changes (reads are the hot path)."""
        s = self._stat
        if s is None:
            s = self._stat = STAT.pack(
                self.czxid,
                self.mzxid,
                self.ctime,
                self.mtime,
                self.version,
                # the stored cversion counts creates (it names sequential children); clients
                # see creates + deletes, as ZooKeeper's DataNode.copyStat computes it
                self.cversion * 2 - len(self.children),
                self.aversion,
                client_owner(self.owner),
                len(self.data) if self.data else 0,
                len(self.children),
                self.pzxid,
            )
        return s

    def touch(self) -> None:
        self._stat = None


@dataclass(slots=True)
class Result:
    type: int
    err: int = 0
    path: str = ""
    stat: bytes | None = None
    multi: list[Result] | None = None


def parent_of(path: str) -> str:
    i = path.rfind("/")
    return "/" if i <= 0 else path[:i]


class DataTree:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.ephemerals: dict[int, set[str]] = {}
        self.sessions: dict[int, int] = {}  # session id -> timeout (ms), agreed via txns
        self.containers: set[str] = set()  # container nodes, reaped when emptied
        self.ttls: set[str] = set()  # TTL nodes, reaped once childless and older than their TTL
        self.quotas: set[str] = set()  # paths with a zookeeper_limits node (quota.py)
        self.last_zxid = 0
        root = Node(b"", OPEN_ACL_UNSAFE, 0, 0, 0)
        zk = Node(b"", OPEN_ACL_UNSAFE, 0, 0, 0)
        quota = Node(b"", OPEN_ACL_UNSAFE, 0, 0, 0)
        config = Node(b"", READ_ACL_UNSAFE, 0, 0, 0)
        config.aversion = -1  # ZooKeeper sets its ACL once with version -1
        root.children.add("zookeeper")
        zk.children.update(("quota", "config"))
        self.nodes.update(
            {"/": root, "/zookeeper": zk, "/zookeeper/quota": quota, "/zookeeper/config": config}
        )

    # ---- reads -------------------------------------------------------------------------------

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def node_count(self) -> int:
        return len(self.nodes)

    # ---- applying txns ------------------------------------------------------------------------

    def apply(self, txn: Txn, triggers: list[Trigger]) -> Result:
        """Apply one committed txn; appends its watch triggers to `triggers`."""
        rc = self._apply(txn.type, txn.body, txn.client_id, txn.zxid, txn.time, triggers)
        if txn.zxid > self.last_zxid:
            self.last_zxid = txn.zxid
        return rc

    def _apply(
        self, typ: int, body: object, client: int, zxid: int, time: int, trig: list[Trigger]
    ) -> Result:
        rc = Result(typ)
        try:
            if typ in CREATE_TYPES:
                assert isinstance(body, CreateTxn)
                rc.path = body.path
                rc.stat = self._create(body, zxid, time, trig).stat()
            elif typ == OpCode.SET_DATA:
                assert isinstance(body, SetDataTxn)
                rc.path = body.path
                n = self._node(body.path)
                if self.quotas:
                    self._count(body.path, 0, _size(body.data) - _size(n.data))
                n.data = body.data
                n.mtime = time
                n.mzxid = zxid
                n.version = body.version
                n._stat = None
                rc.stat = n.stat()
                trig.append((DATA, body.path, Event.NODE_DATA_CHANGED))
            elif typ in (OpCode.DELETE, OpCode.DELETE_CONTAINER):
                assert isinstance(body, DeleteTxn)
                rc.path = body.path
                self._delete(body.path, zxid, trig)
            elif typ == OpCode.SET_ACL:
                assert isinstance(body, SetACLTxn)
                rc.path = body.path
                n = self._node(body.path)
                n.acl = tuple(body.acl)
                n.aversion = body.version
                n._stat = None
                rc.stat = n.stat()
            elif typ == OpCode.CHECK:
                assert isinstance(body, CheckVersionTxn)
                rc.path = body.path
            elif typ == OpCode.ERROR:
                assert isinstance(body, ErrorTxn)
                rc.err = body.err
            elif typ == OpCode.CREATE_SESSION:
                assert isinstance(body, CreateSessionTxn)
                self.sessions[client] = body.timeout
            elif typ == OpCode.CLOSE_SESSION:
                self.sessions.pop(client, None)
                for path in sorted(self.ephemerals.pop(client, ())):
                    try:
                        self._delete(path, zxid, trig)
                    except KeyError:
                        pass
            elif typ == OpCode.MULTI:
                assert isinstance(body, MultiTxn)
                rc.multi = self._multi(body, client, zxid, time, trig)
                for sub in rc.multi:
                    if sub.err:
                        rc.err = sub.err
                        break
        except KeyError:
            rc.err = Err.NONODE
        except _Exists:
            rc.err = Err.NODEEXISTS
        return rc

    def _multi(
        self, body: MultiTxn, client: int, zxid: int, time: int, trig: list[Trigger]
    ) -> list[Result]:
        failed = any(t == OpCode.ERROR for t, _ in body.txns)
        out: list[Result] = []
        post_failed = False
        for t, b in body.txns:
            if t == OpCode.ERROR:
                post_failed = True
            elif failed:
                t = OpCode.ERROR
                b = ErrorTxn(Err.RUNTIMEINCONSISTENCY if post_failed else Err.OK)
            out.append(self._apply(t, b, client, zxid, time, trig))
        return out

    def _node(self, path: str) -> Node:
        return self.nodes[path]  # KeyError -> NONODE

    def _create(self, t: CreateTxn, zxid: int, time: int, trig: list[Trigger]) -> Node:
        path = t.path
        ppath = parent_of(path)
        parent = self.nodes[ppath]
        name = path[path.rfind("/") + 1 :]
        if name in parent.children or path in self.nodes:
            raise _Exists
        if t.parent_cversion > parent.cversion:
            parent.cversion = t.parent_cversion
            parent.pzxid = zxid
        parent.children.add(name)
        parent._stat = None
        node = Node(t.data, tuple(t.acl), zxid, time, t.ephemeral_owner)
        self.nodes[path] = node
        self._index(path, t.ephemeral_owner)
        if ppath.startswith(quota.QUOTA_ROOT):
            if name == quota.LIMITS:
                self.quotas.add(ppath[len(quota.QUOTA_ROOT) :])
            elif name == quota.STATS:
                self._recount(ppath[len(quota.QUOTA_ROOT) :])
        if self.quotas:
            self._count(path, 1, _size(t.data))
        trig.append((DATA, path, Event.NODE_CREATED))
        trig.append((CHILD, ppath, Event.NODE_CHILDREN_CHANGED))
        return node

    def _delete(self, path: str, zxid: int, trig: list[Trigger]) -> None:
        ppath = parent_of(path)
        parent = self.nodes[ppath]
        parent.children.discard(path[path.rfind("/") + 1 :])
        if zxid > parent.pzxid:
            parent.pzxid = zxid
        parent._stat = None
        node = self.nodes.pop(path)
        if ppath.startswith(quota.QUOTA_ROOT) and path.endswith("/" + quota.LIMITS):
            self.quotas.discard(ppath[len(quota.QUOTA_ROOT) :])
        if self.quotas:
            self._count(path, -1, -_size(node.data))
        if node.owner == CONTAINER_EPHEMERAL_OWNER:
            self.containers.discard(path)
        elif node.owner >> 56 == -1:
            self.ttls.discard(path)
        elif node.owner:
            eph = self.ephemerals.get(node.owner)
            if eph is not None:
                eph.discard(path)
                if not eph:
                    del self.ephemerals[node.owner]
        trig.append((DELETED, path, Event.NODE_DELETED))
        trig.append((CHILD, ppath, Event.NODE_CHILDREN_CHANGED))

    # ---- snapshots ----------------------------------------------------------------------------

    def serialize(self) -> bytes:
        """Whole tree + sessions as bytes; parents come before children so load is one pass."""
        w = Writer().long(self.last_zxid)
        w.int(len(self.sessions))
        for sid in sorted(self.sessions):
            w.long(sid).int(self.sessions[sid])
        w.int(len(self.nodes))
        for path in sorted(self.nodes, key=lambda p: (p.count("/"), p)):
            n = self.nodes[path]
            w.ustring(path).buffer(n.data).vector(n.acl, write_acl)
            w.long(n.czxid).long(n.mzxid).long(n.ctime).long(n.mtime)
            w.int(n.version).int(n.cversion).int(n.aversion).long(n.owner).long(n.pzxid)
        return w.bytes()

    @classmethod
    def deserialize(cls, payload: bytes) -> DataTree:
        tree = cls()
        tree.nodes.clear()
        r = Reader(payload)
        tree.last_zxid = r.long()
        for _ in range(r.int()):
            sid = r.long()
            tree.sessions[sid] = r.int()
        for _ in range(r.int()):
            path = r.ustring() or ""
            data = r.buffer()
            acl = tuple(read_acls(r))
            n = Node(data, acl, 0, 0, 0)
            n.czxid, n.mzxid, n.ctime, n.mtime = r.long(), r.long(), r.long(), r.long()
            n.version, n.cversion, n.aversion = r.int(), r.int(), r.int()
            n.owner, n.pzxid = r.long(), r.long()
            tree.nodes[path] = n
            if path != "/":
                tree.nodes[parent_of(path)].children.add(path[path.rfind("/") + 1 :])
            tree._index(path, n.owner)
        tree._setup_quotas()
        return tree

    # ---- quotas -------------------------------------------------------------------------------

    def _count(self, path: str, count_diff: int, bytes_diff: int) -> None:
        """Add to the usage of the quota `path` falls under (DataTree.updateQuotaStat)."""
        prefix = quota.quota_prefix(self.quotas, path)
        if prefix is None:
            return
        node = self.nodes.get(quota.stats_path(prefix))
        if node is None:
            return  # setquota creates the limits before the stats node
        try:
            usage = quota.parse(node.data)
        except ValueError:
            return
        usage["count"] = usage.get("count", -1) + count_diff
        usage["bytes"] = usage.get("bytes", -1) + bytes_diff
        node.data = quota.render(usage)
        node._stat = None

    def _recount(self, path: str) -> None:
        """Write the count and bytes of the subtree at `path` to its stats node
        (DataTree.updateQuotaForPath)."""
        node = self.nodes.get(quota.stats_path(path))
        if node is None:
            return
        count = size = 0
        todo = [path]
        while todo:
            p = todo.pop()
            n = self.nodes.get(p)
            if n is None:
                continue
            count += 1
            size += _size(n.data)
            base = "" if p == "/" else p
            todo.extend(f"{base}/{c}" for c in n.children)
        node.data = quota.render({"count": count, "bytes": size})
        node._stat = None

    def _setup_quotas(self) -> None:
        """After loading a snapshot: find the limits nodes and recount (DataTree.setupQuota)."""
        root = quota.QUOTA_ROOT
        suffix = "/" + quota.LIMITS
        for p, n in self.nodes.items():
            if p.startswith(root + "/") and p.endswith(suffix) and not n.children:
                self.quotas.add(p[len(root) : -len(suffix)])
        for p in self.quotas:
            self._recount(p)

    def _index(self, path: str, owner: int) -> None:
        """File a node under the set its owner puts it in (container, TTL or a session's)."""
        if owner == CONTAINER_EPHEMERAL_OWNER:
            self.containers.add(path)
        elif owner >> 56 == -1:
            self.ttls.add(path)
        elif owner:
            self.ephemerals.setdefault(owner, set()).add(path)


def _size(data: bytes | None) -> int:
    return len(data) if data else 0


class _Exists(Exception):
    pass
