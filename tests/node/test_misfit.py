"""misfits: a txn prepped by the primary fits the tree it was computed on, and a txn applied
after a lost earlier txn of its primary is named for what it gets wrong."""

from __future__ import annotations

from zablab.node.datatree import DataTree
from zablab.node.misfit import misfits
from zablab.node.prep import Prep, WriteRequest
from zablab.node.protocol import (
    OPEN_ACL_UNSAFE,
    PERSISTENT_SEQUENTIAL,
    CheckVersionRequest,
    CreateRequest,
    DeleteRequest,
    MultiRequest,
    OpCode,
    SetACLRequest,
    SetDataRequest,
)
from zablab.node.sessions import SessionTracker
from zablab.node.txn import Txn

SID = 9


def primary() -> tuple[DataTree, Prep]:
    tree = DataTree()
    tracker = SessionTracker(100)
    tracker.add(SID, 4000, 0)
    return tree, Prep(tree, tracker)


def create(path: str, flags: int = 0) -> WriteRequest:
    return WriteRequest(SID, 0, OpCode.CREATE, CreateRequest(path, b"", OPEN_ACL_UNSAFE, flags))


def put(path: str) -> WriteRequest:
    return WriteRequest(SID, 0, OpCode.SET_DATA, SetDataRequest(path, b"v", -1))


def pipeline(tree: DataTree, prep: Prep, reqs: list[WriteRequest], first: int) -> list[Txn]:
    """Prep back to back, as a primary does before any of them commits."""
    return [prep.prep(r, first + i, 0) for i, r in enumerate(reqs)]


def fit_in_order(tree: DataTree, txns: list[Txn]) -> list[str]:
    out: list[str] = []
    for t in txns:
        out += misfits(tree, t.type, t.body)
        tree.apply(t, [])
    return out


def test_pipelined_txns_fit_in_primary_order():
    tree, prep = primary()
    reqs = [create("/a"), create("/a/b"), put("/a"), put("/a"), create("/q")]
    reqs += [create("/q/n-", PERSISTENT_SEQUENTIAL), create("/q/n-", PERSISTENT_SEQUENTIAL)]
    reqs.append(WriteRequest(SID, 0, OpCode.DELETE, DeleteRequest("/a/b", -1)))
    assert fit_in_order(tree, pipeline(tree, prep, reqs, 1)) == []


def test_a_setdata_after_a_lost_one_is_a_version_jump():
    tree, prep = primary()
    fit_in_order(tree, pipeline(tree, prep, [create("/r")], 1))
    prep.reset()
    _a, b = pipeline(tree, prep, [put("/r"), put("/r")], 2)
    [m] = misfits(tree, b.type, b.body)
    assert "setData /r to version 2 on version 0" in m and "version jump" in m


def test_a_create_under_a_lost_parent_is_named():
    tree, prep = primary()
    _a, b = pipeline(tree, prep, [create("/a"), create("/a/b")], 1)
    [m] = misfits(tree, b.type, b.body)
    assert "create /a/b under /a, which does not exist" in m


def test_a_sequential_create_after_a_lost_one_skips_a_number():
    tree, prep = primary()
    fit_in_order(tree, pipeline(tree, prep, [create("/q")], 1))
    prep.reset()
    seq = create("/q/n-", PERSISTENT_SEQUENTIAL)
    _a, b = pipeline(tree, prep, [seq, seq], 2)
    [m] = misfits(tree, b.type, b.body)
    assert "create /q/n-0000000001" in m and "child version to 2 on 0" in m


def test_a_multi_whose_check_held_only_in_the_pending_state():
    tree, prep = primary()
    fit_in_order(tree, pipeline(tree, prep, [create("/x"), create("/y")], 1))
    prep.reset()
    guarded = MultiRequest(
        [
            (OpCode.CHECK, CheckVersionRequest("/x", 1)),
            (OpCode.SET_DATA, SetDataRequest("/y", b"b", -1)),
            (OpCode.SET_DATA, SetDataRequest("/y", b"c", -1)),  # on the multi's own op
        ]
    )
    _a, b = pipeline(tree, prep, [put("/x"), WriteRequest(SID, 0, OpCode.MULTI, guarded)], 3)
    assert misfits(tree, b.type, b.body) == [
        "check of /x passed at the primary but version 0 is here"
    ]


def test_an_acl_update_after_a_lost_one_is_a_version_jump():
    tree, prep = primary()
    fit_in_order(tree, pipeline(tree, prep, [create("/z")], 1))
    prep.reset()
    acl = WriteRequest(SID, 0, OpCode.SET_ACL, SetACLRequest("/z", OPEN_ACL_UNSAFE, -1))
    _a, b = pipeline(tree, prep, [acl, acl], 2)
    [m] = misfits(tree, b.type, b.body)
    assert "setACL /z to ACL version 2 on ACL version 0" in m
