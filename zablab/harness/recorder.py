"""Thread-safe history recording: time since test start, flushed line by line."""

from __future__ import annotations

import threading
import time
from typing import Any

from zablab.harness.history import HistoryWriter, Op


class Recorder:
    """Every worker and the nemesis append here; ops also stay in memory for the checkers."""

    def __init__(self, writer: HistoryWriter | None):
        self._writer = writer
        self._lock = threading.Lock()
        self.t0 = time.monotonic_ns()
        self.ops: list[Op] = []

    def now(self) -> int:
        return time.monotonic_ns() - self.t0

    def record(self, type_: str, process: Any, f: str, value: Any = None, **extra: Any) -> Op:
        extra = {k: v for k, v in extra.items() if v is not None}
        with self._lock:
            op = Op(len(self.ops), self.now(), type_, process, f, value, extra)
            if self._writer is not None:
                self._writer.append(op)
            self.ops.append(op)
        return op

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
