"""Unique ids from sequential znodes: every acknowledged id must be distinct."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client
from zablab.harness.workloads.base import ROOT, Workload, ensure
from zablab.history.jsonl import Op


class UniqueIdsWorkload(Workload):
    name = "unique-ids"
    checker = "unique-ids (no id handed out twice)"
    reads = frozenset()
    path = f"{ROOT}/ids"

    def setup(self, client: Client) -> None:
        ensure(client, self.path)

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return "generate", None

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        path = client.wait(client.zk.create_async(f"{self.path}/id-", b"", sequence=True))
        return int(path.rsplit("-", 1)[1]), {}

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.workloads import check_unique_ids

        return check_unique_ids(ops)
