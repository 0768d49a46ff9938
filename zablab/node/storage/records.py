"""On-disk formats of log records, log segments and snapshots, and the scanner that reads them.

All integers are big-endian.

Log segment ``log.<16 hex digits of the first zxid>``::

    header   8 bytes  b"ZLABLOG1"
    record*  repeated until end of file

Log record (20-byte header, then the payload)::

    magic    u32  0x5A4C5231 ("ZLR1"): lets the scanner tell records from garbage or zeros
    length   u32  payload length in bytes
    crc      u32  zlib.crc32 over length, zxid and payload
    zxid     u64  strictly increasing within and across segments
    payload  length bytes, opaque to storage

Snapshot ``snapshot.<16 hex digits of zxid>`` (written whole by an atomic rename)::

    magic    8 bytes  b"ZLABSNP1"
    zxid     u64
    length   u64
    crc      u32  zlib.crc32 over the payload
    payload  length bytes

A damaged record is a *torn tail* only when no valid record follows it in the same segment
and the segment is the newest one: that is what an interrupted append leaves behind (a short
record, a record whose bytes did not all reach the disk, preallocated zeros). Anything else is
corruption, because a record after the damage proves the damage was once a complete record.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

SEGMENT_MAGIC = b"ZLABLOG1"
SEGMENT_PREFIX = "log."
RECORD_MAGIC = 0x5A4C5231
RECORD_MAGIC_BYTES = struct.pack(">I", RECORD_MAGIC)
_RECORD = struct.Struct(">IIIQ")
RECORD_HEADER = _RECORD.size
_LEN_ZXID = struct.Struct(">IQ")

SNAPSHOT_MAGIC = b"ZLABSNP1"
SNAPSHOT_PREFIX = "snapshot."
_SNAPSHOT = struct.Struct(">8sQQI")
SNAPSHOT_HEADER = _SNAPSHOT.size

MAX_ZXID = (1 << 64) - 1
#: A record longer than this is treated as damage, not as a huge allocation request.
MAX_PAYLOAD = 256 << 20


def segment_name(first_zxid: int) -> str:
    return f"{SEGMENT_PREFIX}{first_zxid:016x}"


def snapshot_name(zxid: int) -> str:
    return f"{SNAPSHOT_PREFIX}{zxid:016x}"


def parse_name(name: str, prefix: str) -> int | None:
    """The zxid in a file name such as ``log.00000001000000a3``, or None for other files."""
    if not name.startswith(prefix):
        return None
    digits = name[len(prefix) :]
    if len(digits) != 16:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def encode_record(zxid: int, payload: bytes) -> bytes:
    if not 0 <= zxid <= MAX_ZXID:
        raise ValueError(f"zxid {zxid} out of range")
    head = _LEN_ZXID.pack(len(payload), zxid)
    crc = zlib.crc32(payload, zlib.crc32(head))
    return _RECORD.pack(RECORD_MAGIC, len(payload), crc, zxid) + payload


@dataclass(frozen=True, slots=True)
class Damage:
    """Where a segment stops being valid and why."""

    offset: int
    reason: str
    torn: bool  # True: nothing valid follows, so this may be an interrupted append


def _record_at(data: bytes | memoryview, off: int) -> tuple[int, int, str]:
    """Parse one record: (zxid, end offset, "") if valid, else (-1, -1, reason)."""
    size = len(data)
    if size - off < RECORD_HEADER:
        return -1, -1, f"incomplete record header ({size - off} of {RECORD_HEADER} bytes)"
    magic, length, crc, zxid = _RECORD.unpack_from(data, off)
    if magic != RECORD_MAGIC:
        return -1, -1, f"bad record magic 0x{magic:08x}"
    if length > MAX_PAYLOAD:
        return -1, -1, f"record length {length} is implausible"
    end = off + RECORD_HEADER + length
    if end > size:
        return -1, -1, f"incomplete record (needs {end - off} bytes, {size - off} present)"
    body = data[off + RECORD_HEADER : end]
    if zlib.crc32(body, zlib.crc32(_LEN_ZXID.pack(length, zxid))) != crc:
        return -1, -1, f"CRC mismatch in record of zxid 0x{zxid:x}"
    return zxid, end, ""


def _valid_record_after(data: bytes, off: int) -> int | None:
    """Offset of a valid record starting after ``off``, if any (proof the damage is not a tail)."""
    pos = data.find(RECORD_MAGIC_BYTES, off + 1)
    while pos != -1:
        zxid, _, _ = _record_at(data, pos)
        if zxid >= 0:
            return pos
        pos = data.find(RECORD_MAGIC_BYTES, pos + 1)
    return None


def scan_segment(data: bytes) -> tuple[list[tuple[int, int, int]], Damage | None]:
    """Valid records as (zxid, offset, end) up to the first damage, and that damage if any.

    Zxid order is checked too: a record whose zxid does not increase is damage. Zeros to the
    end of the file are not damage: they are space the disk preallocated (see OsDisk).
    """
    if data and not data.count(0) - len(data):
        return [], None
    if len(data) < len(SEGMENT_MAGIC) or data[: len(SEGMENT_MAGIC)] != SEGMENT_MAGIC:
        head = data[: len(SEGMENT_MAGIC)].rstrip(b"\0")  # a header cut short, then zeros
        torn = SEGMENT_MAGIC.startswith(head) and data.count(0, len(head)) == len(data) - len(head)
        reason = "incomplete segment header" if torn else "not a zablab log segment (bad header)"
        return [], Damage(0, reason, torn and _valid_record_after(data, 0) is None)
    out: list[tuple[int, int, int]] = []
    off = len(SEGMENT_MAGIC)
    prev = -1
    view = memoryview(data)
    size = len(data)
    while off < size:
        zxid, end, reason = _record_at(view, off)
        if zxid >= 0 and zxid <= prev:
            zxid, reason = -1, f"zxid 0x{zxid:x} does not follow 0x{prev:x}"
        if zxid < 0:
            if data.count(0, off) == size - off:
                return out, None  # preallocated zeros: the clean end of the segment
            torn = _valid_record_after(data, off) is None
            return out, Damage(off, reason, torn)
        out.append((zxid, off, end))
        prev = zxid
        off = end
    return out, None


def iter_records(data: bytes, spans: list[tuple[int, int, int]]) -> Iterator[tuple[int, bytes]]:
    for zxid, off, end in spans:
        yield zxid, data[off + RECORD_HEADER : end]


def encode_snapshot(zxid: int, payload: bytes) -> bytes:
    return _SNAPSHOT.pack(SNAPSHOT_MAGIC, zxid, len(payload), zlib.crc32(payload)) + payload


def decode_snapshot(data: bytes, expect_zxid: int) -> tuple[bytes | None, int, str]:
    """(payload, 0, "") for a valid snapshot, else (None, offset, reason)."""
    if len(data) < SNAPSHOT_HEADER:
        return None, 0, f"snapshot header incomplete ({len(data)} bytes)"
    magic, zxid, length, crc = _SNAPSHOT.unpack_from(data, 0)
    if magic != SNAPSHOT_MAGIC:
        return None, 0, "not a zablab snapshot (bad magic)"
    if zxid != expect_zxid:
        return None, 8, f"snapshot holds zxid 0x{zxid:x} but its name says 0x{expect_zxid:x}"
    if SNAPSHOT_HEADER + length != len(data):
        return None, 16, f"snapshot length {length} does not match file size {len(data)}"
    payload = data[SNAPSHOT_HEADER:]
    if zlib.crc32(payload) != crc:
        return None, SNAPSHOT_HEADER, "snapshot CRC mismatch"
    return payload, 0, ""
