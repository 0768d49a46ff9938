"""Ephemeral znodes live exactly as long as their session: present while it serves reads, gone
once it is closed or expired."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.ephemerals import check_sessions
from zablab.checkers.result import Result
from zablab.harness.clients.client import Client
from zablab.harness.workloads.base import ROOT, Workload, ensure
from zablab.history.jsonl import Op


class SessionWorkload(Workload):
    name = "session"
    checker = "session (ephemerals vanish after their session ends, not before)"
    path = f"{ROOT}/session"

    def setup(self, client: Client) -> None:
        ensure(client, self.path)

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return ("create", None) if rng.random() < 0.5 else ("read", None)

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        zk = client.zk
        if f == "create":
            name = f"{client.session}-{self.unique()}"
            client.wait(zk.create_async(f"{self.path}/{name}", b"", ephemeral=True))
            return name, {}
        client.wait(zk.sync_async(self.path))
        return sorted(client.wait(zk.get_children_async(self.path))), {}

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", None)]

    def settle_seconds(self) -> float:
        return float(self.opts.get("session_timeout", 10.0)) * 1.5

    def check(self, ops: list[Op]) -> Result:
        return check_sessions(ops)
