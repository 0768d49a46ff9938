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
from zablab.history.textfile import text_lines

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
        for name in ("type", "process", "f"):
            if name not in d:
                if "event" in d and "node" in d:
                    raise UserError(f"{where}: a ZAB trace event, not an op; use --checker zab")
                raise UserError(
                    f"{where}: missing field {name!r}; every op needs type, process and f "
                    "(Jepsen's field names)"
                )
        typ = d["type"]
        if typ not in OP_TYPES:
            raise UserError(f"{where}: type must be one of {', '.join(OP_TYPES)}, not {typ!r}")
        if not isinstance(d["f"], str) or not d["f"]:
            raise UserError(f"{where}: f must be the op's name (a string), not {d['f']!r}")
        return cls(
            index=_int_field(d, "index", -1, where),
            time=_int_field(d, "time", 0, where),
            type=typ,
            process=d["process"],
            f=d["f"],
            value=d.get("value"),
            extra={k: v for k, v in d.items() if k not in _CORE},
        )

    @property
    def is_client(self) -> bool:
        return self.process != "nemesis"


def _int_field(d: dict[str, Any], name: str, default: int, where: str) -> int:
    v = d.get(name, default)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise UserError(f"{where}: {name} must be a number, not {v!r}")
    return int(v)


def read_jsonl(path: str | Path) -> list[Op]:
    """Read a JSONL history; a bad line raises UserError naming file and line."""
    ops: list[Op] = []
    for lineno, line, ended in text_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            if not ended:
                raise UserError(
                    f"{where}: the last line is cut short ({exc.msg}); the writer stopped "
                    "mid-line: delete that line to check the rest"
                ) from None
            raise UserError(
                f"{where}: not valid JSON ({exc.msg}); one JSON object a line"
            ) from None
        if not isinstance(d, dict):
            raise UserError(f"{where}: expected a JSON object per line, got {type(d).__name__}")
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
