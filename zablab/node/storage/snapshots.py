"""Snapshots: one file per snapshot, written whole by an atomic rename, CRC over the payload."""

from __future__ import annotations

import os

from .disk import Disk
from .errors import CorruptStorage
from .records import SNAPSHOT_PREFIX, decode_snapshot, encode_snapshot, parse_name, snapshot_name
from .txnlog import as_disk


class SnapshotStore:
    """Keeps the newest ``keep`` snapshots; ``latest()`` is strict, recovery may fall back."""

    def __init__(
        self, where: Disk | str | os.PathLike[str], *, keep: int = 3, fsync: bool = True
    ) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.disk = as_disk(where, fsync)
        self.keep = keep

    def zxids(self) -> list[int]:
        """Zxids of the snapshots present, newest first."""
        found = (parse_name(n, SNAPSHOT_PREFIX) for n in self.disk.list())
        return sorted((z for z in found if z is not None), reverse=True)

    def save(self, zxid: int, payload: bytes) -> str:
        name = snapshot_name(zxid)
        self.disk.write_atomic(name, encode_snapshot(zxid, payload))
        self.prune()
        return self.disk.describe(name)

    def load(self, zxid: int) -> bytes:
        name = snapshot_name(zxid)
        payload, offset, reason = decode_snapshot(self.disk.read(name), zxid)
        if payload is None:
            raise CorruptStorage(self.disk.describe(name), offset, reason)
        return payload

    def latest(self) -> tuple[int, bytes] | None:
        """The newest snapshot; CorruptStorage if it is damaged."""
        zxids = self.zxids()
        if not zxids:
            return None
        return zxids[0], self.load(zxids[0])

    def prune(self) -> list[str]:
        gone = [snapshot_name(z) for z in self.zxids()[self.keep :]]
        for name in gone:
            self.disk.remove(name)
        if gone:
            self.disk.fsync_dir()
        return gone

    def remove_after(self, zxid: int) -> list[str]:
        """Drop snapshots newer than ``zxid`` (they hold txns a TRUNC just removed)."""
        gone = [snapshot_name(z) for z in self.zxids() if z > zxid]
        for name in gone:
            self.disk.remove(name)
        if gone:
            self.disk.fsync_dir()
        return gone

    def oldest_zxid(self) -> int | None:
        zxids = self.zxids()
        return zxids[-1] if zxids else None
