"""Several register znodes; ops carry Jepsen's independent [key value] and are checked per key."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.register import linearizable_view, zk_view
from zablab.checkers.result import Result, compose
from zablab.harness.clients.client import Client
from zablab.harness.workloads.base import ROOT, Workload, ensure
from zablab.harness.workloads.register import register_op, register_ops
from zablab.history.jsonl import Op


class KVWorkload(Workload):
    name = "kv"
    checker = "linearizable (cas-register) per key + ZooKeeper guarantees"
    reads = frozenset({"read", "sync-read"})

    def __init__(self, rng: random.Random, **opts: Any):
        super().__init__(rng, **opts)
        self.keys = int(opts.get("keys", 5))

    def _path(self, key: Any) -> str:
        return f"{ROOT}/kv/k{key}"

    def setup(self, client: Client) -> None:
        for k in range(self.keys):
            ensure(client, self._path(k))

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        f, v = register_op(rng)
        return f, [rng.randrange(self.keys), v]

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        key, v = value
        out, extra = register_ops(client, self._path(key), f, v)
        return [key, out], extra

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("sync-read", [k, None]) for k in range(self.keys)]

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.linearizable import check_linearizable
        from zablab.checkers.models import CasRegister
        from zablab.checkers.zookeeper import check_zookeeper

        by_key: dict[Any, list[Op]] = {}
        for op in linearizable_view(ops):
            k, v = op.value
            by_key.setdefault(k, []).append(
                Op(op.index, op.time, op.type, op.process, op.f, v, op.extra)
            )
        lin = [
            check_linearizable(part, CasRegister(), timeout=self.opts.get("check_timeout", 60))
            for _, part in sorted(by_key.items())
        ]
        for k, r in zip(sorted(by_key), lin, strict=True):
            r.checker = f"linearizable key {k}"
        return compose("kv", [*lin, check_zookeeper(zk_view(ops), keyed=True)])
