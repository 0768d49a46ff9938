"""A counter znode incremented by versioned read-modify-write; synced reads are bounds-checked."""

from __future__ import annotations

import random
from typing import Any

from kazoo.exceptions import BadVersionError

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client, Fail
from zablab.harness.workloads.base import ROOT, Workload, dec, enc, ensure
from zablab.history.jsonl import Op


class CounterWorkload(Workload):
    name = "counter"
    checker = "counter (reads within acknowledged bounds)"
    path = f"{ROOT}/counter"

    def setup(self, client: Client) -> None:
        ensure(client, self.path, enc(0))

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return ("add", 1) if rng.random() < 0.7 else ("read", None)

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        zk = client.zk
        if f == "read":
            client.wait(zk.sync_async(self.path))
            data, stat = client.wait(zk.get_async(self.path))
            return dec(data), {"zxid": stat.mzxid}
        for _ in range(10):
            data, stat = client.wait(zk.get_async(self.path))
            try:
                st = client.wait(
                    zk.set_async(self.path, enc(dec(data) + value), version=stat.version)
                )
                return value, {"zxid": st.mzxid}
            except BadVersionError:
                continue
        raise Fail("contention")

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", None)]

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.workloads import check_counter

        return check_counter(ops)
