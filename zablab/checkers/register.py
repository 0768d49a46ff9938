"""What a register history is checked against: the linearizable part and ZooKeeper's own.

Shared by the harness's register workload and the simulator's, so one view decides what the
linearizability checker sees whichever engine wrote the history.
"""

from __future__ import annotations

from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import CasRegister
from zablab.checkers.result import Result, compose
from zablab.checkers.zookeeper import check_zookeeper
from zablab.history.jsonl import Op


def linearizable_view(ops: list[Op]) -> list[Op]:
    """Writes, cas and the final reads: what ZooKeeper promises to be linearizable.

    Reads during the run are left to the ZooKeeper-guarantee checker, synced ones included:
    `sync` is not a quorum operation, so a client of a follower still attached to a deposed
    leader can read stale data after it — documented ZooKeeper behaviour, not a bug to report.
    The final reads (`final`: after the heal, on fresh sessions, synced) stay in, as reads: a
    lost acknowledged write shows there. For the same
    reason a cas that failed because its (synced) read saw another value observed nothing
    linearizable and is left out; so is a cas refused with BadVersion (it did not happen, and
    it observed nothing either: the value may have been written back in between). A cas that
    succeeded is atomic: its setData carried the version its read saw.
    """
    drop: set[int] = set()
    last_invoke: dict[object, Op] = {}
    for op in ops:
        if op.type == "invoke":
            last_invoke[op.process] = op
        elif op.type == "fail" and op.f == "cas" and op.process in last_invoke:
            drop.add(last_invoke[op.process].index)
            drop.add(op.index)
    out = []
    for op in ops:
        if not op.is_client or op.index in drop or op.f == "read":
            continue
        if op.f == "sync-read":
            if not op.extra.get("final"):
                continue
            op = Op(op.index, op.time, op.type, op.process, "read", op.value, op.extra)
        out.append(op)
    return out


def zk_view(ops: list[Op]) -> list[Op]:
    return [
        Op(o.index, o.time, o.type, o.process, "read", o.value, o.extra)
        if o.f == "sync-read"
        else o
        for o in ops
        if o.is_client
    ]


def check_register(ops: list[Op], *, timeout: float | None = 60) -> Result:
    """Linearizable (cas-register) on writes, cas and final reads; ZooKeeper's guarantees on
    every read."""
    lin = check_linearizable(linearizable_view(ops), CasRegister(), timeout=timeout)
    zk = check_zookeeper(zk_view(ops))
    return compose("register", [lin, zk])
