"""Ephemeral znodes live exactly as long as their session: present while it serves reads, gone
once it is closed or expired."""

from __future__ import annotations

import random
from typing import Any

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client
from zablab.harness.workloads.base import ROOT, Workload, ensure
from zablab.history.jsonl import Op


def check_sessions(ops: list[Op]) -> Result:
    created: dict[str, list[tuple[int, str]]] = {}  # session -> [(complete index, name)]
    invokes: dict[Any, Op] = {}
    errors = []
    reads = 0
    for op in sorted((o for o in ops if o.is_client), key=lambda o: o.index):
        if op.type == "invoke":
            invokes[op.process] = op
            continue
        inv = invokes.pop(op.process, None)
        if op.type != "ok" or inv is None:
            continue
        s = op.extra.get("session")
        if op.f == "create":
            created.setdefault(str(s), []).append((op.index, op.value))
        elif op.f == "read":
            reads += 1
            present = set(op.value or [])
            if op.extra.get("final"):
                if present:
                    errors.append(
                        {
                            "index": op.index,
                            "kind": "outlived-session",
                            "names": sorted(present)[:20],
                        }
                    )
                continue
            missing = [n for i, n in created.get(str(s), []) if i < inv.index and n not in present]
            if missing:
                errors.append(
                    {
                        "index": op.index,
                        "kind": "vanished-early",
                        "session": s,
                        "names": missing[:20],
                    }
                )
    return Result(
        "session", not errors, {"reads": reads, "errors": errors[:20], "error_count": len(errors)}
    )


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
