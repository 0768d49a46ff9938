"""One register znode: read, write, and cas by versioned setData (atomic at the leader)."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.result import Result, compose
from zablab.harness.clients.client import Client, Fail
from zablab.harness.workloads.base import ROOT, Workload, dec, enc, ensure
from zablab.history.jsonl import Op

VALUES = 5


def register_ops(client: Client, path: str, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
    zk = client.zk
    if f == "read":
        data, stat = client.wait(zk.get_async(path))
        return dec(data), {"zxid": stat.mzxid, "version": stat.version}
    if f == "sync-read":
        # pipelined: a session's requests are processed in order, so this is sync-then-get
        synced, got = zk.sync_async(path), zk.get_async(path)
        client.wait(synced)
        data, stat = client.wait(got)
        return dec(data), {"zxid": stat.mzxid, "version": stat.version, "sync": True}
    if f == "write":
        stat = client.wait(zk.set_async(path, enc(value)))
        return value, {"zxid": stat.mzxid, "version": stat.version}
    if f == "cas":
        expected, new = value
        synced, got = zk.sync_async(path), zk.get_async(path)
        client.wait(synced)
        data, stat = client.wait(got)
        if dec(data) != expected:
            raise Fail("value-mismatch")
        stat2 = client.wait(zk.set_async(path, enc(new), version=stat.version))
        return value, {"zxid": stat2.mzxid, "version": stat2.version}
    raise ValueError(f"register has no op {f!r}")


def register_op(rng: random.Random) -> tuple[str, Any]:
    r = rng.random()
    if r < 0.4:
        return "read", None
    if r < 0.7:
        return "write", rng.randrange(VALUES)
    return "cas", [rng.randrange(VALUES), rng.randrange(VALUES)]


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


class RegisterWorkload(Workload):
    name = "register"
    checker = "linearizable (cas-register) on writes + ZooKeeper guarantees on reads"
    reads = frozenset({"read", "sync-read"})
    path = f"{ROOT}/register"

    def setup(self, client: Client) -> None:
        ensure(client, self.path)

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return register_op(rng)

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        return register_ops(client, self.path, f, value)

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("sync-read", None)]

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.linearizable import check_linearizable
        from zablab.checkers.models import CasRegister
        from zablab.checkers.zookeeper import check_zookeeper

        lin = check_linearizable(
            linearizable_view(ops), CasRegister(), timeout=self.opts.get("check_timeout", 60)
        )
        zk = check_zookeeper(zk_view(ops))
        return compose("register", [lin, zk])
