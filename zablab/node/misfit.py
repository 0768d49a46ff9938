"""Does a txn fit the tree it is applied to? A delta names the state it was computed on.

A primary preps a txn against its tree plus its pending proposals (prep.py), so the txn carries
that state's consequences: the version a setData writes is the node's version then plus one, a
create's parent cversion is the parent's then plus one, and the nodes it touches existed (or
not). Applied where that state is the real one — in primary order — every txn fits. Applied
after a lost earlier txn of its primary (Multi-Paxos deciding B without A) it does not: the tree
then holds a version that skips one, a sequence number skipped, or the create or update is
refused on a node that was never made. DataTree.apply, like ZooKeeper's, does not check this;
``misfits`` says what a delivery would get wrong, in words a report can show.

A multi's ops are checked against the tree before the multi; an op on a path (or under a
parent) an earlier op of the same multi touched is skipped, since it was computed on that op.
"""

from __future__ import annotations

from .datatree import DataTree, parent_of
from .protocol import OpCode
from .txn import (
    CREATE_TYPES,
    CheckVersionTxn,
    CreateTxn,
    DeleteTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
)

_INT_MAX = 2147483647


def _next(version: int) -> int:
    return -2147483648 if version == _INT_MAX else version + 1


def _versioned(tree: DataTree, op: str, path: str, version: int, field: str) -> list[str]:
    """An update that writes version ``version`` of ``field`` must find the one before it."""
    n = tree.nodes.get(path)
    if n is None:
        return [f"{op} {path}, which does not exist"]
    held = getattr(n, field)
    if version != _next(held):
        what = "version" if field == "version" else "ACL version"
        return [
            f"{op} {path} to {what} {version} on {what} {held}: a version jump (the write it "
            "was computed after is missing)"
        ]
    return []


def misfits(tree: DataTree, typ: int, body: object) -> list[str]:
    """What does not fit if the txn (type, body) is applied to ``tree`` now; [] if it fits."""
    nodes = tree.nodes
    if typ in CREATE_TYPES and isinstance(body, CreateTxn):
        path, ppath = body.path, parent_of(body.path)
        parent = nodes.get(ppath)
        if parent is None:
            return [f"create {path} under {ppath}, which does not exist (its create was lost)"]
        if path in nodes:
            return [f"create {path}, which exists already"]
        if body.parent_cversion != parent.cversion + 1:
            return [
                f"create {path} sets {ppath}'s child version to {body.parent_cversion} on "
                f"{parent.cversion}: a create it was counted after is missing"
            ]
        return []
    if typ == OpCode.SET_DATA and isinstance(body, SetDataTxn):
        return _versioned(tree, "setData", body.path, body.version, "version")
    if typ == OpCode.SET_ACL and isinstance(body, SetACLTxn):
        return _versioned(tree, "setACL", body.path, body.version, "aversion")
    if typ == OpCode.CHECK and isinstance(body, CheckVersionTxn):
        n = nodes.get(body.path)
        if n is None or body.version != _next(n.version):
            held = "no node" if n is None else f"version {n.version}"
            return [f"check of {body.path} passed at the primary but {held} is here"]
        return []
    if typ in (OpCode.DELETE, OpCode.DELETE_CONTAINER) and isinstance(body, DeleteTxn):
        if body.path not in nodes:
            return [f"delete {body.path}, which does not exist"]
        return []
    if typ == OpCode.MULTI and isinstance(body, MultiTxn):
        if any(t == OpCode.ERROR for t, _ in body.txns):
            return []  # a failed multi changes nothing
        out: list[str] = []
        touched: set[str] = set()
        for t, b in body.txns:
            path = getattr(b, "path", "")
            if path in touched or parent_of(path) in touched:
                continue  # computed on the multi's own earlier ops: not followed through
            out += misfits(tree, t, b)
            touched.add(path)
        return out
    return []
