"""A set as sequential children: each add creates `<element>-<seq>`; a final read lists them."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client
from zablab.harness.workloads.base import ROOT, Workload, ensure
from zablab.history.jsonl import Op


class SetWorkload(Workload):
    name = "set"
    checker = "set (lost / unexpected / duplicated elements)"
    path = f"{ROOT}/set"

    def setup(self, client: Client) -> None:
        ensure(client, self.path)

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return "add", self.unique()

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        zk = client.zk
        if f == "add":
            path = client.wait(zk.create_async(f"{self.path}/{value}-", b"", sequence=True))
            return value, {"path": path}
        if f == "read":
            client.wait(zk.sync_async(self.path))
            children = client.wait(zk.get_children_async(self.path))
            return sorted(int(c.split("-")[0]) for c in children), {"final": True}
        raise ValueError(f)

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", None)]

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.workloads import check_set

        return check_set(ops)
