"""The append-only transaction log: segments of CRC-checked ``(zxid, payload)`` records.

``append`` only buffers; ``sync`` writes the whole buffer and fsyncs once (group commit), so a
server that acknowledges after ``sync`` returns never acknowledges a write a crash can lose.
Opening a log checks every record and repairs a torn tail (see records.py for what counts as
one); any other damage raises CorruptStorage.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .disk import Disk, OsDisk
from .errors import CorruptStorage
from .records import (
    RECORD_HEADER,
    SEGMENT_MAGIC,
    SEGMENT_PREFIX,
    encode_record,
    parse_name,
    scan_segment,
    segment_name,
)

log = logging.getLogger("zablab.node.storage")

DEFAULT_SEGMENT_BYTES = 64 << 20


@dataclass
class _Segment:
    name: str
    first: int
    last: int
    size: int


def as_disk(where: Disk | str | os.PathLike[str], fsync: bool) -> Disk:
    if isinstance(where, str | os.PathLike):
        return OsDisk(where, fsync=fsync)
    return where


class TxnLog:
    """``last_zxid`` is the newest appended record (buffered or written), 0 for an empty log."""

    def __init__(
        self,
        where: Disk | str | os.PathLike[str],
        *,
        fsync: bool = True,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.disk = as_disk(where, fsync)
        self.segment_bytes = segment_bytes
        self._segments: list[_Segment] = []
        self._buf: list[tuple[int, bytes]] = []
        self._buf_lock = threading.Lock()
        self._io_lock = threading.Lock()
        # told the ms each batch's write + fsync took (the server's fsynctime metric)
        self.on_sync: Callable[[int], None] | None = None
        self._roll = False
        self.repairs: list[str] = []  # what opening the log cut off, for tests and status
        self._open()
        self._last_zxid = self._segments[-1].last if self._segments else 0
        self._synced_zxid = self._last_zxid

    # -- opening and repair ------------------------------------------------------------

    def _open(self) -> None:
        named = sorted(
            (z, n) for n in self.disk.list() if (z := parse_name(n, SEGMENT_PREFIX)) is not None
        )
        prev_last = -1
        for i, (first, name) in enumerate(named):
            newest = i == len(named) - 1
            data = self.disk.read(name)
            spans, damage = scan_segment(data)
            where = self.disk.describe(name)
            if spans and spans[0][0] != first:
                raise CorruptStorage(
                    where,
                    spans[0][1],
                    f"first record has zxid 0x{spans[0][0]:x} but the file name says 0x{first:x}",
                )
            if spans and spans[0][0] <= prev_last:
                raise CorruptStorage(
                    where, spans[0][1], f"zxid 0x{spans[0][0]:x} does not follow 0x{prev_last:x}"
                )
            if damage is not None:
                if not (newest and damage.torn):
                    why = damage.reason
                    if damage.torn:
                        why += " (a newer log segment exists, so this is not a torn tail)"
                    raise CorruptStorage(where, damage.offset, why)
                self._cut_tail(name, where, len(data), damage.offset, damage.reason, bool(spans))
            elif len(data) > (spans[-1][2] if spans else 0):
                self._drop_padding(name, spans[-1][2] if spans else 0)
            if not spans:
                continue
            self._segments.append(_Segment(name, first, spans[-1][0], spans[-1][2]))
            prev_last = spans[-1][0]

    def _drop_padding(self, name: str, end: int) -> None:
        """Cut preallocated zeros so the next append lands right after the last record."""
        if end:
            self.disk.truncate(name, end)
            self.disk.fsync(name)
        else:
            self.disk.remove(name)
            self.disk.fsync_dir()

    def _cut_tail(
        self, name: str, where: str, size: int, offset: int, reason: str, keep: bool
    ) -> None:
        if keep:
            self.disk.truncate(name, offset)
            self.disk.fsync(name)
            msg = f"truncated torn tail of {where} at byte offset {offset} ({size - offset} bytes: {reason})"
        else:
            self.disk.remove(name)
            self.disk.fsync_dir()
            msg = f"removed {where}: it holds no complete record ({size} bytes: {reason})"
        log.warning(msg)
        self.repairs.append(msg)

    # -- writing -----------------------------------------------------------------------

    @property
    def last_zxid(self) -> int:
        return self._last_zxid

    @property
    def synced_zxid(self) -> int:
        """The newest record that is on disk and fsynced (as far as this process knows)."""
        return self._synced_zxid

    @property
    def first_zxid(self) -> int | None:
        """The oldest record on disk, None if nothing is written."""
        return self._segments[0].first if self._segments else None

    def append(self, zxid: int, payload: bytes) -> None:
        with self._buf_lock:
            if zxid <= self._last_zxid:
                raise ValueError(f"zxid 0x{zxid:x} must exceed the last one 0x{self._last_zxid:x}")
            self._buf.append((zxid, encode_record(zxid, payload)))
            self._last_zxid = zxid

    def roll(self) -> None:
        """Start a new segment at the next sync (after a snapshot, so old segments can go)."""
        self._roll = True

    def sync(self) -> int:
        """Write and fsync everything appended so far; returns the newest durable zxid."""
        with self._io_lock:
            with self._buf_lock:
                batch, self._buf = self._buf, []
            if not batch:
                return self._synced_zxid
            t0 = time.monotonic()
            body = b"".join(rec for _, rec in batch)
            cur = self._segments[-1] if self._segments else None
            if cur is None or self._roll or cur.size >= self.segment_bytes:
                if cur is not None:
                    # drop preallocated space: only the newest segment may end in zeros
                    self.disk.truncate(cur.name, cur.size)
                    self.disk.fsync(cur.name)
                cur = _Segment(segment_name(batch[0][0]), batch[0][0], batch[-1][0], 0)
                body = SEGMENT_MAGIC + body
                self.disk.append(cur.name, body)
                self.disk.fsync(cur.name)
                self.disk.fsync_dir()
                self._segments.append(cur)
                self._roll = False
            else:
                self.disk.append(cur.name, body)
                self.disk.fsync(cur.name)
            cur.size += len(body)
            cur.last = batch[-1][0]
            self._synced_zxid = batch[-1][0]
            if self.on_sync is not None:
                self.on_sync(int((time.monotonic() - t0) * 1000))
            return self._synced_zxid

    def truncate_after(self, zxid: int) -> None:
        """Durably remove every record with a larger zxid (ZAB's TRUNC)."""
        with self._io_lock, self._buf_lock:
            self._buf = [(z, r) for z, r in self._buf if z <= zxid]
            removed = False
            while self._segments and self._segments[-1].first > zxid:
                self.disk.remove(self._segments.pop().name)
                removed = True
            if removed:
                self.disk.fsync_dir()
            if self._segments and self._segments[-1].last > zxid:
                seg = self._segments[-1]
                spans, _ = scan_segment(self.disk.read(seg.name)[: seg.size])
                keep = [s for s in spans if s[0] <= zxid]
                seg.size, seg.last = keep[-1][2], keep[-1][0]
                self.disk.truncate(seg.name, seg.size)
                self.disk.fsync(seg.name)
            on_disk = self._segments[-1].last if self._segments else 0
            self._synced_zxid = min(self._synced_zxid, on_disk)
            self._last_zxid = self._buf[-1][0] if self._buf else on_disk

    def prune_before(self, zxid: int) -> list[str]:
        """Remove segments not needed to replay from ``zxid`` on; one with a record <= zxid stays."""
        with self._io_lock:
            gone: list[str] = []
            while len(self._segments) > 1 and self._segments[1].first <= zxid:
                seg = self._segments.pop(0)
                self.disk.remove(seg.name)
                gone.append(seg.name)
            if gone:
                self.disk.fsync_dir()
            return gone

    # -- reading -----------------------------------------------------------------------

    def records_after(self, zxid: int) -> Iterator[tuple[int, bytes]]:
        """Records with a larger zxid, oldest first, including buffered ones not yet synced."""
        with self._io_lock, self._buf_lock:
            segs = [(s.name, s.size, s.last) for s in self._segments]
            nexts: list[int | None] = [s.first for s in self._segments[1:]]
            nexts.append(None)
            buffered = list(self._buf)
        for (name, size, last), nxt in zip(segs, nexts, strict=False):
            if last <= zxid or (nxt is not None and nxt <= zxid + 1):
                continue
            data = self.disk.read(name)[:size]
            spans, damage = scan_segment(data)
            if damage is not None:
                raise CorruptStorage(self.disk.describe(name), damage.offset, damage.reason)
            for z, off, end in spans:
                if z > zxid:
                    yield z, data[off + RECORD_HEADER : end]
        for z, rec in buffered:
            if z > zxid:
                yield z, rec[RECORD_HEADER:]

    def segment_names(self) -> list[str]:
        return [s.name for s in self._segments]

    def close(self) -> None:
        self.disk.close()
