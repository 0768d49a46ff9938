"""The znode tree: ZooKeeper's data model in one class (the reference solution)."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from zablab.labs.znode.api import (
    BAD_ARGUMENTS,
    BAD_VERSION,
    NO_CHILDREN_FOR_EPHEMERALS,
    NO_NODE,
    NODE_CHILDREN_CHANGED,
    NODE_CREATED,
    NODE_DATA_CHANGED,
    NODE_DELETED,
    NODE_EXISTS,
    NOT_EMPTY,
    OK,
    RUNTIME_INCONSISTENCY,
    Check,
    Create,
    Delete,
    MultiOp,
    OpResult,
    Reply,
    Send,
    SetData,
    Stat,
    WatchedEvent,
    ZNodeError,
    validate_path,
)

Events = list[tuple[Hashable, WatchedEvent]]
Watches = dict[str, dict[Hashable, None]]  # path -> watchers, in the order they were set



def parent_of(path: str) -> str:
    return path[: path.rfind("/")] or "/"


class Node:
    __slots__ = ("data", "czxid", "mzxid", "pzxid", "version", "cversion", "creates", "owner",
                 "children")

    def __init__(self, data: bytes, zxid: int, owner: int) -> None:
        self.data = data
        self.czxid = self.mzxid = self.pzxid = zxid
        self.version = self.cversion = self.creates = 0
        self.owner = owner
        self.children: set[str] = set()

    def copy(self) -> Node:
        n = Node(self.data, self.czxid, self.owner)
        n.mzxid, n.pzxid, n.version = self.mzxid, self.pzxid, self.version
        n.cversion, n.creates, n.children = self.cversion, self.creates, set(self.children)
        return n

    def stat(self) -> Stat:
        return Stat(self.czxid, self.mzxid, self.pzxid, self.version, self.cversion, 0,
                    self.owner, len(self.data), len(self.children))


class ZNodeTree:
    def __init__(self, send: Send) -> None:
        self.send = send
        self.nodes: dict[str, Node] = {"/": Node(b"", 0, 0)}
        self.ephemerals: dict[int, set[str]] = {}
        self.data_watches: Watches = {}
        self.child_watches: Watches = {}

    # ---- reads ------------------------------------------------------------------------------

    def get_data(self, path: str, watcher: Hashable | None = None) -> tuple[bytes, Stat]:
        n = self._node(path)
        if watcher is not None:
            self.data_watches.setdefault(path, {})[watcher] = None
        return n.data, n.stat()

    def exists(self, path: str, watcher: Hashable | None = None) -> Stat | None:
        validate_path(path)
        if watcher is not None:  # also when the node is absent: it fires on NodeCreated
            self.data_watches.setdefault(path, {})[watcher] = None
        n = self.nodes.get(path)
        return None if n is None else n.stat()

    def get_children(self, path: str, watcher: Hashable | None = None) -> tuple[list[str], Stat]:
        n = self._node(path)
        if watcher is not None:
            self.child_watches.setdefault(path, {})[watcher] = None
        return sorted(n.children), n.stat()

    # ---- writes -----------------------------------------------------------------------------

    def create(self, session: int, zxid: int, path: str, data: bytes = b"",
               ephemeral: bool = False, sequential: bool = False) -> None:
        op = Create(path, data, ephemeral, sequential)
        self._write(session, lambda ev: self._create(op, session, zxid, ev))

    def delete(self, session: int, zxid: int, path: str, version: int = -1) -> None:
        self._write(session, lambda ev: self._delete(Delete(path, version), zxid, ev))

    def set_data(self, session: int, zxid: int, path: str, data: bytes,
                 version: int = -1) -> None:
        self._write(session, lambda ev: self._set_data(SetData(path, data, version), zxid, ev))

    def close_session(self, session: int, zxid: int) -> None:
        events: Events = []
        for path in sorted(self.ephemerals.pop(session, ())):
            self._unlink(path, zxid, events)
        self._finish(session, None, events)

    def multi(self, session: int, zxid: int, ops: list[MultiOp]) -> None:
        saved = self._snapshot()
        events: Events = []
        results: list[OpResult] = []
        for i, op in enumerate(ops):
            try:
                results.append(self._apply(op, session, zxid, events))
            except ZNodeError as e:
                self._restore(saved)
                results = [OpResult("error", error=OK)] * i + [OpResult("error", error=e.code)]
                results += [OpResult("error", error=RUNTIME_INCONSISTENCY)] * (len(ops) - i - 1)
                self.send(session, Reply(results))
                return
        self._finish(session, results, events)

    # ---- helpers ----------------------------------------------------------------------------

    def _write(self, session: int, change: Callable[[Events], object]) -> None:
        events: Events = []
        try:
            value = change(events)
        except ZNodeError as e:
            self.send(session, Reply(None, e.code))
            return
        self._finish(session, value, events)

    def _finish(self, session: int, value: object, events: Events) -> None:
        """A watcher hears of a change before the writer hears it is done."""
        for watcher, event in events:
            self.send(watcher, event)
        self.send(session, Reply(value))

    def _apply(self, op: MultiOp, session: int, zxid: int, events: Events) -> OpResult:
        if isinstance(op, Create):
            return OpResult("create", path=self._create(op, session, zxid, events))
        if isinstance(op, Delete):
            self._delete(op, zxid, events)
            return OpResult("delete")
        if isinstance(op, SetData):
            return OpResult("set_data", stat=self._set_data(op, zxid, events))
        if isinstance(op, Check):
            self._check_version(self._node(op.path), op.version)
            return OpResult("check")
        raise ZNodeError(BAD_ARGUMENTS, repr(op))

    def _node(self, path: str) -> Node:
        validate_path(path)
        n = self.nodes.get(path)
        if n is None:
            raise ZNodeError(NO_NODE, path)
        return n

    def _check_version(self, n: Node, version: int) -> None:
        if version != -1 and version != n.version:
            raise ZNodeError(BAD_VERSION)

    def _sequence_suffix(self, parent: Node) -> int:
        return parent.creates  # children ever created here, which only grows

    def _create(self, op: Create, session: int, zxid: int, events: Events) -> str:
        validate_path(op.path + ("0" * 10 if op.sequential else ""))
        if op.path == "/":
            raise ZNodeError(NODE_EXISTS, "/")
        ppath = parent_of(op.path)
        parent = self._node(ppath)
        path = op.path + (f"{self._sequence_suffix(parent):010d}" if op.sequential else "")
        if path in self.nodes:
            raise ZNodeError(NODE_EXISTS, path)
        if parent.owner:
            raise ZNodeError(NO_CHILDREN_FOR_EPHEMERALS, ppath)
        owner = session if op.ephemeral else 0
        self.nodes[path] = Node(bytes(op.data), zxid, owner)
        if owner:
            self.ephemerals.setdefault(owner, set()).add(path)
        parent.children.add(path[len(ppath.rstrip("/")) + 1:])
        parent.creates += 1
        parent.cversion += 1
        parent.pzxid = zxid
        self._trigger(self.data_watches, path, NODE_CREATED, events)
        self._trigger(self.child_watches, ppath, NODE_CHILDREN_CHANGED, events)
        return path

    def _delete(self, op: Delete, zxid: int, events: Events) -> None:
        validate_path(op.path)
        if op.path == "/":
            raise ZNodeError(BAD_ARGUMENTS, "/")
        n = self._node(op.path)
        self._check_version(n, op.version)
        if n.children:
            raise ZNodeError(NOT_EMPTY, op.path)
        if n.owner:
            self.ephemerals[n.owner].discard(op.path)
        self._unlink(op.path, zxid, events)

    def _unlink(self, path: str, zxid: int, events: Events) -> None:
        del self.nodes[path]
        ppath = parent_of(path)
        self._removed_child(self.nodes[ppath], path[len(ppath.rstrip("/")) + 1:], zxid)
        told = self._trigger(self.data_watches, path, NODE_DELETED, events)
        self._trigger(self.child_watches, path, NODE_DELETED, events, skip=told)
        self._trigger(self.child_watches, ppath, NODE_CHILDREN_CHANGED, events)

    def _removed_child(self, parent: Node, name: str, zxid: int) -> None:
        parent.children.discard(name)
        parent.cversion += 1  # deletes count too: cversion is "changes to the children"
        parent.pzxid = max(parent.pzxid, zxid)

    def _set_data(self, op: SetData, zxid: int, events: Events) -> Stat:
        n = self._node(op.path)
        self._check_version(n, op.version)
        n.data = bytes(op.data)
        n.version += 1
        n.mzxid = zxid
        self._trigger(self.data_watches, op.path, NODE_DATA_CHANGED, events)
        return n.stat()

    def _trigger(self, table: Watches, path: str, kind: str, events: Events,
                 skip: frozenset[Hashable] | set[Hashable] = frozenset()) -> set[Hashable]:
        """Fire and forget the watches on `path`: they are one-shot."""
        watchers = table.pop(path, {})
        told = {w for w in watchers if w not in skip}
        events.extend((w, WatchedEvent(kind, path)) for w in watchers if w not in skip)
        return told

    def _snapshot(self) -> tuple[dict[str, Node], dict[int, set[str]], Watches, Watches]:
        return (
            {p: n.copy() for p, n in self.nodes.items()},
            {s: set(ps) for s, ps in self.ephemerals.items()},
            {p: dict(ws) for p, ws in self.data_watches.items()},
            {p: dict(ws) for p, ws in self.child_watches.items()},
        )

    def _restore(self, saved: tuple[dict[str, Node], dict[int, set[str]], Watches, Watches]) -> None:
        self.nodes, self.ephemerals, self.data_watches, self.child_watches = saved
