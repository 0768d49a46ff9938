"""The history record shared by the harness (which writes it) and the checkers (which read it).

JSON Lines with Jepsen's field names so that a history exports 1:1 to Jepsen/Elle tools.
Readers of foreign formats (EDN, porcupine's logs) live in `zablab.history.formats`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from zablab.errors import UserError

OP_TYPES = ("invoke", "ok", "fail", "info")
_CORE = ("index", "time", "type", "process", "f", "value")


@dataclass(slots=True)
class Op:
    """One history event; `extra` keeps fields such as node, error, zxid, session."""

    index: int
    time: int
    type: str
    process: Any
    f: str
    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "type": self.type,
            "process": self.process,
            "f": self.f,
            "value": self.value,
        }
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "") -> Op:
        try:
            typ = d["type"]
            if typ not in OP_TYPES:
                raise UserError(f"{where}: type must be one of {', '.join(OP_TYPES)}, not {typ!r}")
            return cls(
                index=int(d.get("index", -1)),
                time=int(d.get("time", 0)),
                type=typ,
                process=d["process"],
                f=str(d["f"]),
                value=d.get("value"),
                extra={k: v for k, v in d.items() if k not in _CORE},
            )
        except KeyError as exc:
            raise UserError(f"{where}: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise UserError(f"{where}: {exc}") from None

    @property
    def is_client(self) -> bool:
        return self.process != "nemesis"


def read_jsonl(path: str | Path) -> list[Op]:
    """Read a JSONL history; a bad line raises UserError naming file and line."""
    ops: list[Op] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(d, dict):
                raise UserError(f"{where}: expected a JSON object per line")
            op = Op.from_dict(d, where)
            if op.index < 0:
                op.index = len(ops)
            ops.append(op)
    return ops


def iter_dicts(ops: Iterable[Op]) -> Iterator[dict[str, Any]]:
    for op in ops:
        yield op.to_dict()


class HistoryWriter:
    """Appends ops as they happen and flushes each batch, so a crash loses no completed op."""

    def __init__(self, fh: IO[str]):
        self._fh = fh
        self._next = 0

    @classmethod
    def open(cls, path: str | Path) -> HistoryWriter:
        return cls(open(path, "a", encoding="utf-8"))

    def append(self, op: Op) -> Op:
        """Append one op, numbering it next in this file."""
        op.index = self._next
        self.append_many([op])
        return op

    def append_many(self, ops: list[Op]) -> None:
        """Append ops already numbered by the caller, with one flush."""
        self._fh.write(
            "".join(json.dumps(op.to_dict(), separators=(",", ":")) + "\n" for op in ops)
        )
        self._fh.flush()
        if ops:
            self._next = ops[-1].index + 1

    def close(self) -> None:
        self._fh.close()


def write_jsonl(ops: Iterable[Op], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for d in iter_dicts(ops):
            fh.write(json.dumps(d, separators=(",", ":")) + "\n")
