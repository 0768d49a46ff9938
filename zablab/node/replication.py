"""The Replicator seam between request processing and the data tree.

A replicator takes write requests from local sessions, makes them durable (standalone) or
agreed (ZAB), and calls `deliver(txn, payload)` for every txn in zxid order once committed.
StandaloneReplicator is sans-IO: the runtime asks it for a batch, writes and fsyncs that batch
in a disk thread (one fsync per batch: group commit) and then reports it done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .prep import Prep, WriteRequest
from .txn import Txn

Deliver = Callable[[Txn, bytes], None]


class Replicator(Protocol):
    def submit(self, request: WriteRequest) -> None: ...


class StandaloneReplicator:
    """Prep, log, fsync, deliver. zxid = epoch << 32 | counter; standalone stays in epoch 0."""

    def __init__(self, prep: Prep, deliver: Deliver, last_zxid: int, wall_ms: Callable[[], int]):
        self.prep = prep
        self.deliver = deliver
        self.wall_ms = wall_ms
        self.next_zxid = last_zxid + 1
        self.queued: list[tuple[Txn, bytes]] = []
        self.in_flight: list[tuple[Txn, bytes]] | None = None
        self.wakeup: Callable[[], None] = lambda: None

    def submit(self, request: WriteRequest) -> None:
        zxid = self.next_zxid
        self.next_zxid = zxid + 1
        txn = self.prep.prep(request, zxid, self.wall_ms())
        self.queued.append((txn, txn.encode()))
        if self.in_flight is None:
            self.wakeup()

    def take_batch(self) -> list[tuple[Txn, bytes]] | None:
        """The next batch to write and fsync, or None if one is in flight or nothing waits."""
        if self.in_flight is not None or not self.queued:
            return None
        batch, self.queued = self.queued, []
        self.in_flight = batch
        return batch

    def batch_done(self) -> None:
        """The batch is on disk: deliver its txns in zxid order."""
        batch = self.in_flight or []
        self.in_flight = None
        deliver = self.deliver
        for txn, payload in batch:
            deliver(txn, payload)

    def flush(self, write: Callable[[list[tuple[Txn, bytes]]], None] | None = None) -> None:
        """Synchronous driver for tests and the simulator: write and deliver all that waits."""
        while True:
            batch = self.take_batch()
            if batch is None:
                return
            if write is not None:
                write(batch)
            self.batch_done()
