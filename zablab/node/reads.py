"""The read requests, one handler per opcode: the reply body from the tree and the watch tables.

A read never waits for a txn, so its handler answers at once: it returns the reply body or
raises KeeperError with the code to answer. Handlers see the server through `ReadCore`, the
little of it they use, so this module does not import the server.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from . import acl as acls
from .acl import KeeperError
from .connection import Conn
from .datatree import DataTree, Node
from .jute import INT, Writer
from .protocol import (
    ACL,
    AddWatchRequest,
    Err,
    Event,
    Id,
    MultiRequest,
    OpCode,
    PathRequest,
    PathWatchRequest,
    Perm,
    RemoveWatchesRequest,
    SetWatches,
    encode_event,
    write_acl,
)
from .watches import PERSISTENT, RECURSIVE, Watches

MULTI_HEADER = struct.Struct(">i?i")
MULTI_END = MULTI_HEADER.pack(-1, True, -1)
NULL_BUFFER = INT.pack(-1)


class ReadCore(Protocol):
    tree: DataTree
    watches: Watches

    def _send(self, c: Conn, data: bytes) -> None: ...


Handler = Callable[[ReadCore, Conn, object], bytes]


def readable(tree: DataTree, path: str, c: Conn) -> Node:
    """The node at `path` if the connection may read it (NoNode, NoAuth otherwise)."""
    n = tree.nodes.get(path)
    if n is None:
        raise KeeperError(Err.NONODE)
    acl = n.acl
    if not (len(acl) == 1 and acl[0].id.scheme == "world" and acl[0].perms & Perm.READ):
        acls.check(acl, Perm.READ, c.auth)
    return n


def get_data(core: ReadCore, c: Conn, body: object) -> bytes:
    assert isinstance(body, PathWatchRequest)
    n = readable(core.tree, body.path, c)
    if body.watch:
        core.watches.data.add(body.path, c.id)
    d = n.data
    if d is None:
        return NULL_BUFFER + n.stat()
    return INT.pack(len(d)) + d + n.stat()


def exists(core: ReadCore, c: Conn, body: object) -> bytes:
    assert isinstance(body, PathWatchRequest)
    if body.watch:
        core.watches.data.add(body.path, c.id)
    n = core.tree.nodes.get(body.path)
    if n is None:
        raise KeeperError(Err.NONODE)
    return n.stat()


def _children(core: ReadCore, c: Conn, body: object) -> Node:
    assert isinstance(body, PathWatchRequest)
    n = readable(core.tree, body.path, c)
    if body.watch:
        core.watches.child.add(body.path, c.id)
    return n


def get_children(core: ReadCore, c: Conn, body: object) -> bytes:
    return Writer().strings(sorted(_children(core, c, body).children)).bytes()


def get_children2(core: ReadCore, c: Conn, body: object) -> bytes:
    n = _children(core, c, body)
    return Writer().strings(sorted(n.children)).raw(n.stat()).bytes()


def get_acl(core: ReadCore, c: Conn, body: object) -> bytes:
    """The ACL, with digest hashes masked for a reader without ADMIN, as ZooKeeper 3.6+."""
    assert isinstance(body, PathRequest)
    n = core.tree.nodes.get(body.path)
    if n is None:
        raise KeeperError(Err.NONODE)
    acls.check(n.acl, Perm.READ | Perm.ADMIN, c.auth)
    acl: list[ACL] = list(n.acl)
    if not acls.allowed(n.acl, Perm.ADMIN, c.auth):
        acl = [
            ACL(a.perms, Id(a.id.scheme, a.id.id.split(":", 1)[0] + ":x"))
            if a.id.scheme == "digest"
            else a
            for a in acl
        ]
    return Writer().vector(acl, write_acl).raw(n.stat()).bytes()


def sync(core: ReadCore, c: Conn, body: object) -> bytes:
    """Standalone sync: nothing to wait for (an ensemble's sync waits in the server)."""
    assert isinstance(body, PathRequest)
    return Writer().ustring(body.path).bytes()


def _rearm(core: ReadCore, c: Conn, paths: list[str], child: bool, rel: int) -> None:
    """Data or child watches of a reconnecting client: fire those whose node changed after
    the zxid the client last saw (or vanished), re-arm the rest."""
    nodes = core.tree.nodes
    table = core.watches.child if child else core.watches.data
    changed = Event.NODE_CHILDREN_CHANGED if child else Event.NODE_DATA_CHANGED
    for path in paths:
        n = nodes.get(path)
        if n is None:
            core._send(c, encode_event(Event.NODE_DELETED, path))
        elif (n.pzxid if child else n.mzxid) > rel:
            core._send(c, encode_event(changed, path))
        else:
            table.add(path, c.id)


def set_watches(core: ReadCore, c: Conn, body: object) -> bytes:
    """Re-arm a reconnecting client's watches, firing those whose change it missed."""
    assert isinstance(body, SetWatches)
    watches = core.watches
    _rearm(core, c, body.data, False, body.relative_zxid)
    for path in body.exist:
        if path in core.tree.nodes:
            core._send(c, encode_event(Event.NODE_CREATED, path))
        else:
            watches.data.add(path, c.id)
    _rearm(core, c, body.child, True, body.relative_zxid)
    for path in body.persistent:  # re-armed silently, as ZooKeeper does
        watches.data.add(path, c.id, PERSISTENT)
        watches.child.add(path, c.id, PERSISTENT)
    for path in body.recursive:
        watches.data.add(path, c.id, RECURSIVE)
    return b""


def multi_read(core: ReadCore, c: Conn, body: object) -> bytes:
    assert isinstance(body, MultiRequest)
    w = Writer()
    for typ, sub in body.ops:
        assert isinstance(sub, PathWatchRequest)
        try:
            n = readable(core.tree, sub.path, c)
            if typ == OpCode.GET_CHILDREN:
                w.raw(MULTI_HEADER.pack(typ, False, 0)).strings(sorted(n.children))
            else:
                w.raw(MULTI_HEADER.pack(typ, False, 0)).buffer(n.data).raw(n.stat())
        except KeeperError as e:
            w.raw(MULTI_HEADER.pack(OpCode.ERROR, False, e.code)).int(e.code)
    w.raw(MULTI_END)
    return w.bytes()


def _watch_tables(core: ReadCore, c: Conn, body: object, remove: bool) -> bytes:
    assert isinstance(body, RemoveWatchesRequest)
    w = core.watches
    # WatcherType of ZooKeeper 3.8: 1 children, 2 data, 3 any; others do not decode
    if body.type not in (1, 2, 3):
        raise KeeperError(Err.MARSHALLINGERROR)
    tables = {1: [w.child], 2: [w.data], 3: [w.child, w.data]}[body.type]
    found = False
    for t in tables:
        if t.has(body.path, c.id):
            found = True
            if remove:
                t.remove(body.path, c.id)
    if not found:
        raise KeeperError(Err.NOWATCHER)
    return b""


def check_watches(core: ReadCore, c: Conn, body: object) -> bytes:
    return _watch_tables(core, c, body, remove=False)


def remove_watches(core: ReadCore, c: Conn, body: object) -> bytes:
    return _watch_tables(core, c, body, remove=True)


def all_children_number(core: ReadCore, c: Conn, body: object) -> bytes:
    assert isinstance(body, PathRequest)
    readable(core.tree, body.path, c)
    prefix = "/" if body.path == "/" else body.path + "/"
    n = sum(1 for p in core.tree.nodes if p.startswith(prefix) and p != "/")
    return INT.pack(n)


def ephemerals(core: ReadCore, c: Conn, body: object) -> bytes:
    assert isinstance(body, PathRequest)
    mine = sorted(core.tree.ephemerals.get(c.session_id, ()))
    prefix = body.path
    out = mine if prefix == "/" else [p for p in mine if p.startswith(prefix)]
    return Writer().strings(out).bytes()


def who_am_i(core: ReadCore, c: Conn, body: object) -> bytes:
    """The connection's identities; a digest identity as its user name, as ZooKeeper's
    DigestAuthenticationProvider reports it (the hash stays on the server)."""
    w = Writer().int(len(c.auth))
    for i in c.auth:
        ident = i.id.split(":", 1)[0] if i.scheme == "digest" else i.id
        w.ustring(i.scheme).ustring(ident)
    return w.bytes()


def add_watch(core: ReadCore, c: Conn, body: object) -> bytes:
    assert isinstance(body, AddWatchRequest)
    if body.mode == 0:
        core.watches.data.add(body.path, c.id, PERSISTENT)
        core.watches.child.add(body.path, c.id, PERSISTENT)
    elif body.mode == 1:
        core.watches.data.add(body.path, c.id, RECURSIVE)
    else:
        raise KeeperError(Err.MARSHALLINGERROR)
    return INT.pack(0)  # an ErrorResponse(0), as ZooKeeper sends


READS: dict[int, Handler] = {
    OpCode.GET_DATA: get_data,
    OpCode.EXISTS: exists,
    OpCode.GET_CHILDREN: get_children,
    OpCode.GET_CHILDREN2: get_children2,
    OpCode.GET_ACL: get_acl,
    OpCode.SYNC: sync,
    OpCode.SET_WATCHES: set_watches,
    OpCode.SET_WATCHES2: set_watches,
    OpCode.MULTI_READ: multi_read,
    OpCode.CHECK_WATCHES: check_watches,
    OpCode.REMOVE_WATCHES: remove_watches,
    OpCode.GET_ALL_CHILDREN_NUMBER: all_children_number,
    OpCode.GET_EPHEMERALS: ephemerals,
    OpCode.WHO_AM_I: who_am_i,
    OpCode.ADD_WATCH: add_watch,
}
