"""Peer messages of the Multi-Paxos replica, as plain records (framed by codec.py).

A ballot is (round, leader); acceptors order ballots by round alone and never promise a round
twice, so each round has at most one leader and the round can serve as the ZAB trace's epoch.
Lists of slot entries travel packed in one bytes field (``pack_entries``), since the shared
codec frames only ints, bytes and strings.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """A value an acceptor accepted at a slot: under ballot ``round``, the txn ``zxid`` (0 for
    the no-op a new leader fills a hole with) and its payload."""

    round: int
    zxid: int
    payload: bytes

    @property
    def noop(self) -> bool:
        return self.zxid == 0


NOOP_PAYLOAD = b""

_ENTRY = struct.Struct(">qqqI")


def pack_entries(entries: list[tuple[int, Entry]]) -> bytes:
    out = bytearray()
    for slot, e in entries:
        out += _ENTRY.pack(slot, e.round, e.zxid, len(e.payload)) + e.payload
    return bytes(out)


def unpack_entries(data: bytes) -> list[tuple[int, Entry]]:
    """The inverse of pack_entries; a malformed blob raises ValueError (the peer is broken)."""
    out: list[tuple[int, Entry]] = []
    off = 0
    while off < len(data):
        if off + _ENTRY.size > len(data):
            raise ValueError("truncated slot entry")
        slot, rnd, zxid, n = _ENTRY.unpack_from(data, off)
        off += _ENTRY.size
        if off + n > len(data):
            raise ValueError("slot entry payload runs past its blob")
        out.append((slot, Entry(rnd, zxid, data[off : off + n])))
        off += n
    return out


@dataclass(frozen=True)
class Prepare:
    """Phase 1a (the scout): promise ``round``; report what you accepted from ``from_slot`` on."""

    round: int
    from_slot: int


@dataclass(frozen=True)
class Promise:
    """Phase 1b: the acceptor's accepted entries (packed) at slots >= from_slot, and — when it
    no longer holds that far back — a snapshot of its delivered state at ``snap_slot``."""

    round: int
    entries: bytes
    snap_slot: int
    snap_pos: int
    snap_zxid: int  # the application's zxid of that state
    snap_top: int  # the highest zxid delivered up to that slot (zxids need not increase)
    snapshot: bytes


@dataclass(frozen=True)
class Nack:
    """The acceptor promised ``round`` (higher, or a live leader's): the sender is preempted."""

    round: int


@dataclass(frozen=True)
class Accept:
    """Phase 2a (the commander): accept this value at ``slot`` in ``round``."""

    round: int
    slot: int
    zxid: int
    payload: bytes


@dataclass(frozen=True)
class Accepted:
    """Phase 2b, sent only once the accepted value is on the acceptor's disk."""

    round: int
    slot: int


@dataclass(frozen=True)
class Commit:
    """Every slot up to ``upto`` is decided, with the value the leader of ``round`` sent."""

    round: int
    upto: int


@dataclass(frozen=True)
class Heartbeat:
    """The leader of ``round`` is alive; ``active`` once its phase-1 recovery is decided."""

    round: int
    commit: int
    active: int


@dataclass(frozen=True)
class Status:
    """A follower's reply: it holds every slot up to ``have`` (delivered, or accepted in
    ``round``), plus its server's session activity for the leader (``touches``)."""

    round: int
    have: int
    touches: bytes


@dataclass(frozen=True)
class Snap:
    """Catch-up by snapshot: the leader's delivered state at ``slot`` (``pos`` txns)."""

    round: int
    slot: int
    pos: int
    zxid: int  # the application's zxid of that state
    top: int  # the highest zxid delivered up to that slot
    data: bytes


@dataclass(frozen=True)
class Request:
    """A client write forwarded by a follower to the leader (opaque here)."""

    origin: int
    request: bytes


@dataclass(frozen=True)
class SyncRequest:
    token: int


@dataclass(frozen=True)
class SyncReply:
    """Answer ``token`` once slot ``upto`` is delivered here."""

    token: int
    upto: int


Message = (
    Prepare
    | Promise
    | Nack
    | Accept
    | Accepted
    | Commit
    | Heartbeat
    | Status
    | Snap
    | Request
    | SyncRequest
    | SyncReply
)

# Wire type codes; never reuse a retired number.
TYPES: dict[type, int] = {
    Prepare: 1,
    Promise: 2,
    Nack: 3,
    Accept: 4,
    Accepted: 5,
    Commit: 6,
    Heartbeat: 7,
    Status: 8,
    Snap: 9,
    Request: 10,
    SyncRequest: 11,
    SyncReply: 12,
}
