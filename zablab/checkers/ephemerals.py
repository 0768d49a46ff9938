"""Ephemeral znodes live exactly as long as their session: the session workload's checker.

Shared by the harness's session workload and the simulator's, which record the same fields
(``session`` on every op; a read's value is the children it listed; ``final`` on the reads
after every worker's session has ended).
"""

from __future__ import annotations

from typing import Any

from zablab.checkers.result import Result
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
