"""Invokes paired with their completions: the unit most history checkers reason about.

Kept apart from the linearizability checker's `Operation` because these checkers also need the
extra fields (zxid, session, final, error) of both halves and the ops of the nemesis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from zablab.checkers.spec import hashable
from zablab.errors import UserError
from zablab.history.jsonl import Op

INF = math.inf


@dataclass(slots=True, eq=False)
class Call:
    """One op from invoke to completion; `type` is ok, fail or info (never completed = info)."""

    process: Any
    f: str
    type: str
    invoke: Op
    complete: Op | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        return self.invoke.time

    @property
    def end(self) -> float:
        """Completion time; infinite for crashed ops, which may take effect at any later time."""
        if self.complete is None or self.type == "info":
            return INF
        return self.complete.time

    @property
    def value(self) -> Any:
        """The completion's value when it has one (reads), else the invoke's."""
        if self.complete is not None and self.complete.value is not None:
            return self.complete.value
        return self.invoke.value

    @property
    def index(self) -> int:
        return self.invoke.index

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.invoke.index,
            "process": self.process,
            "f": self.f,
            "type": self.type,
            "value": self.value,
        }
        for k in ("zxid", "session", "last_zxid", "node", "error"):
            if k in self.extra:
                d[k] = self.extra[k]
        return d


def pair_calls(ops: Iterable[Op], include_nemesis: bool = False) -> list[Call]:
    """Pair each invoke with the next completion of its process, in invoke order.

    The one pairing every checker uses. A client completion with no open invoke means the
    history is damaged (cut at the start, or merged wrongly) and raises UserError naming it;
    a nemesis completion with no invoke (Jepsen's logs record faults as lone `info` lines)
    becomes a call of its own that started when it completed.
    """
    calls: list[Call] = []
    open_: dict[Any, Call] = {}
    for op in ops:
        if not include_nemesis and not op.is_client:
            continue
        key = hashable(op.process)
        if op.type == "invoke":
            prev = open_.pop(key, None)
            if prev is not None:
                prev.type = "info"
            call = Call(op.process, op.f, "info", op, None, dict(op.extra))
            open_[key] = call
            calls.append(call)
        else:
            call_or_none = open_.pop(key, None)
            if call_or_none is None:
                if op.is_client:
                    raise UserError(
                        f"history op {op.index}: {op.type} {op.f} of process {op.process!r} "
                        "has no matching invoke; is the history cut at the start?"
                    )
                call = Call(op.process, op.f, op.type, op, op, dict(op.extra))
                calls.append(call)
                continue
            call_or_none.complete = op
            call_or_none.type = op.type
            call_or_none.extra.update(op.extra)
    return calls
