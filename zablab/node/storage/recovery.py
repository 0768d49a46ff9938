"""One data directory as the server uses it, and recovery from it after a crash.

Decision on a damaged newest snapshot: recovery falls back to an older valid snapshot only
when the log provably covers the gap: its oldest record is at or before the older snapshot, and
from there to the damaged snapshot's zxid every record follows the one before without a hole
(counter + 1, or counter 1 of a later epoch; a SNAP sync leaves such a hole). Otherwise
CorruptStorage names the snapshot file: starting from less would silently lose acknowledged
writes. Log pruning keeps one segment reaching back to or before the oldest kept snapshot, so
after normal operation the fallback is available.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import NamedTuple

from .disk import Disk
from .errors import CorruptStorage
from .snapshots import SnapshotStore
from .statefile import StateFile
from .txnlog import DEFAULT_SEGMENT_BYTES, TxnLog, as_disk

log = logging.getLogger("zablab.node.storage")

TEMP_SUFFIX = ".tmp"


def follows(prev: int, zxid: int) -> bool:
    """``zxid`` is the txn right after ``prev``: next counter, or the first of a later epoch."""
    return zxid == prev + 1 or (zxid >> 32 > prev >> 32 and zxid & 0xFFFFFFFF == 1)


class Recovered(NamedTuple):
    snapshot_zxid: int  # 0 when there is no snapshot
    snapshot: bytes | None
    records: list[tuple[int, bytes]]  # log records after snapshot_zxid, oldest first

    @property
    def last_zxid(self) -> int:
        return self.records[-1][0] if self.records else self.snapshot_zxid


class Storage:
    """Log, snapshots and state files of one data directory (real path or a SimDisk)."""

    def __init__(
        self,
        where: Disk | str | os.PathLike[str],
        *,
        fsync: bool = True,
        keep_snapshots: int = 3,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.disk = as_disk(where, fsync)
        for name in self.disk.list():
            if name.endswith(TEMP_SUFFIX):  # an atomic write that never got renamed
                self.disk.remove(name)
        self.log = TxnLog(self.disk, segment_bytes=segment_bytes)
        # told the ms each snapshot write took (the server's snapshottime metric)
        self.on_snapshot: Callable[[int], None] | None = None
        self.snapshots = SnapshotStore(self.disk, keep=keep_snapshots)

    def state(self, name: str) -> StateFile:
        return StateFile(self.disk, name)

    @property
    def last_zxid(self) -> int:
        """Newest zxid held, in the log or (when the log is pruned or empty) a snapshot."""
        snaps = self.snapshots.zxids()
        return max(self.log.last_zxid, snaps[0] if snaps else 0)

    def recover(self) -> Recovered:
        zxids = self.snapshots.zxids()
        if not zxids:
            return Recovered(0, None, list(self.log.records_after(0)))
        try:
            snap_zxid, payload = zxids[0], self.snapshots.load(zxids[0])
        except CorruptStorage as damaged:
            snap_zxid, payload = self._fall_back(zxids, damaged)
        return Recovered(snap_zxid, payload, list(self.log.records_after(snap_zxid)))

    def _covers(self, older: int, newer: int) -> bool:
        """Whether the log holds every txn after ``older`` up to ``newer``, without holes."""
        first = self.log.first_zxid
        if first is None or first > older or self.log.last_zxid < newer:
            return False
        prev = older
        for zxid, _ in self.log.records_after(older):
            if not follows(prev, zxid):
                return False
            if zxid >= newer:
                return True
            prev = zxid
        return False

    def _fall_back(self, zxids: list[int], damaged: CorruptStorage) -> tuple[int, bytes]:
        for older in zxids[1:]:
            if not self._covers(older, zxids[0]):
                continue
            try:
                payload = self.snapshots.load(older)
            except CorruptStorage:
                continue
            log.warning(
                "%s is damaged (%s); recovering from the older snapshot 0x%x and the log",
                damaged.file,
                damaged.reason,
                older,
            )
            return older, payload
        raise damaged

    def snapshot(self, zxid: int, payload: bytes) -> str:
        """Save a snapshot of the state up to ``zxid``; prune old snapshots and log segments."""
        t0 = time.monotonic()
        where = self.snapshots.save(zxid, payload)
        if self.on_snapshot is not None:
            self.on_snapshot(int((time.monotonic() - t0) * 1000))
        self.log.roll()
        oldest = self.snapshots.oldest_zxid()
        if oldest is not None:
            self.log.prune_before(oldest)
        return where

    def truncate_after(self, zxid: int) -> None:
        """ZAB TRUNC: forget every txn after ``zxid``, in the log and in snapshots."""
        self.snapshots.remove_after(zxid)
        self.log.truncate_after(zxid)

    def close(self) -> None:
        self.log.close()


def recover(where: Disk | str | os.PathLike[str], *, fsync: bool = True) -> Recovered:
    """Snapshot zxid, snapshot payload (None if none) and the log records after it.

    Repairs a torn log tail (with a warning on the "zablab.node.storage" logger); raises
    CorruptStorage for any other damage.
    """
    storage = Storage(where, fsync=fsync)
    try:
        return storage.recover()
    finally:
        storage.close()
