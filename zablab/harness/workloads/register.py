"""One register znode: read, write, and cas by versioned setData (atomic at the leader)."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.register import check_register
from zablab.checkers.result import Result
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
        return check_register(ops, timeout=self.opts.get("check_timeout", 60))
