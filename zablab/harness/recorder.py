"""Thread-safe history recording: time since test start, flushed as it happens.

Events come from threads of this process (the nemesis, in-process workers, the final reads)
and from client worker processes, which stamp their own times (CLOCK_MONOTONIC is one clock
for every process) and send them in batches. The history must be in time order — an op that
completed before another was invoked must come first, or the checkers would judge a history
that did not happen — so events are merged: each worker process also sends a watermark (no
later event of its will be earlier), and an event is written once every live process's
watermark has passed it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import Counter
from typing import Any

from zablab.history.jsonl import HistoryWriter, Op

# (time, type, process, f, value, extra): an event as a worker process sends it
Event = tuple[int, str, Any, str, Any, dict[str, Any]]


class Recorder:
    """Every worker and the nemesis append here; ops also stay in memory for the checkers."""

    def __init__(self, writer: HistoryWriter | None):
        self._writer = writer
        self._lock = threading.Lock()
        self.t0 = time.monotonic_ns()
        self.ops: list[Op] = []
        self._pending: list[tuple[int, int, Op]] = []  # heap of events not yet in time order
        self._seq = itertools.count()
        self._sources: dict[Any, int] = {}  # live worker process -> its watermark
        self._ended: set[Any] = set()  # sources whose events are all in (or given up on)
        self._closed = False
        self.counts: Counter[str] = Counter()  # completed client ops by type, for progress

    def outcomes(self) -> dict[str, int]:
        """Completed client ops by type so far (for the progress display, from any thread)."""
        with self._lock:
            return dict(self.counts)

    def now(self) -> int:
        return time.monotonic_ns() - self.t0

    def record(self, type_: str, process: Any, f: str, value: Any = None, **extra: Any) -> Op:
        extra = {k: v for k, v in extra.items() if v is not None}
        with self._lock:
            op = Op(-1, self.now(), type_, process, f, value, extra)
            if self._sources:
                heapq.heappush(self._pending, (op.time, next(self._seq), op))
            else:
                self._append([op])
        return op

    # -- events from worker processes ----------------------------------------------------------

    def add_source(self, source: Any) -> None:
        """A worker process that will send events; nothing later than now is written until its
        first watermark arrives."""
        with self._lock:
            self._sources[source] = self.now()

    def ingest(self, source: Any, events: list[Event], watermark: int | None) -> None:
        """Events stamped by `source`, in its time order; `watermark` None: the source is done.

        Anything a source sends after it was declared done, or after close(), is dropped: the
        history was already written without it and the checkers must judge what was written.
        """
        with self._lock:
            if self._closed or source in self._ended:
                return
            for t, type_, process, f, value, extra in events:
                heapq.heappush(
                    self._pending, (t, next(self._seq), Op(-1, t, type_, process, f, value, extra))
                )
            if watermark is None:
                self._sources.pop(source, None)
                self._ended.add(source)
            elif source in self._sources:
                self._sources[source] = max(self._sources[source], watermark)
            self._release()

    def _release(self) -> None:
        limit = min(self._sources.values()) if self._sources else None
        ready = []
        while self._pending and (limit is None or self._pending[0][0] <= limit):
            ready.append(heapq.heappop(self._pending)[2])
        if ready:
            self._append(ready)

    def _append(self, ops: list[Op]) -> None:
        for op in ops:
            op.index = len(self.ops)
            self.ops.append(op)
            if op.type != "invoke" and op.process != "nemesis":
                self.counts[op.type] += 1
        if self._writer is not None:
            self._writer.append_many(ops)

    def close(self) -> None:
        """Write whatever is still pending (a source that vanished sends no more) and close."""
        with self._lock:
            self._closed = True
            self._sources.clear()
            self._release()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
