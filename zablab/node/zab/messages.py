"""Peer messages of ZAB and Fast Leader Election, as plain records.

Field types are limited to int, bytes, str and bool so that codec.py can frame any of them
generically; the field order is the wire order.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOKING, FOLLOWING, LEADING = "LOOKING", "FOLLOWING", "LEADING"


@dataclass(frozen=True)
class Notification:
    """FLE vote: ``leader`` proposed with its ``zxid`` and ``epoch`` (currentEpoch), sent in
    election ``round`` (ZooKeeper's logical clock) by a peer in ``state``."""

    leader: int
    zxid: int
    epoch: int
    round: int
    state: str


@dataclass(frozen=True)
class FollowerInfo:
    accepted_epoch: int
    last_zxid: int


@dataclass(frozen=True)
class LeaderInfo:
    """NEWEPOCH: the epoch the leader proposes (max accepted epoch of a quorum + 1)."""

    epoch: int


@dataclass(frozen=True)
class AckEpoch:
    current_epoch: int
    last_zxid: int


@dataclass(frozen=True)
class Diff:
    """Start of a sync: proposals after the follower's last zxid follow, up to ``to``."""

    to: int


@dataclass(frozen=True)
class Trunc:
    """Drop every record after ``zxid``; proposals after it follow, up to ``to``."""

    zxid: int
    to: int


@dataclass(frozen=True)
class Snap:
    """Replace everything by the leader's delivered state at ``zxid`` (``pos`` txns)."""

    zxid: int
    pos: int
    data: bytes
    to: int


@dataclass(frozen=True)
class Proposal:
    zxid: int
    payload: bytes


@dataclass(frozen=True)
class Commit:
    """Every proposal up to and including ``zxid`` is committed."""

    zxid: int


@dataclass(frozen=True)
class NewLeader:
    zxid: int  # make_zxid(new epoch, 0)


@dataclass(frozen=True)
class Ack:
    """Everything up to ``zxid`` is on the follower's disk (ACK of NEWLEADER when counter 0)."""

    zxid: int


@dataclass(frozen=True)
class UpToDate:
    """Sync done: deliver everything up to ``committed`` and serve clients."""

    committed: int


@dataclass(frozen=True)
class Ping:
    """Heartbeat; a follower's reply carries what its server gave ``touch`` (session ids)."""

    data: bytes = b""


@dataclass(frozen=True)
class Request:
    """A client write forwarded by a follower; opaque to ZAB, prepared by the leader's app."""

    origin: int
    request: bytes


@dataclass(frozen=True)
class SyncRequest:
    """A client's sync at a follower: answer once everything the leader has proposed so far
    is committed (the reply then trails those COMMITs on the FIFO connection)."""

    token: int


@dataclass(frozen=True)
class SyncReply:
    token: int


Message = (
    Notification
    | FollowerInfo
    | LeaderInfo
    | AckEpoch
    | Diff
    | Trunc
    | Snap
    | Proposal
    | Commit
    | NewLeader
    | Ack
    | UpToDate
    | Ping
    | Request
    | SyncRequest
    | SyncReply
)

# Wire type codes; never reuse a retired number.
TYPES: dict[type, int] = {
    Notification: 1,
    FollowerInfo: 2,
    LeaderInfo: 3,
    AckEpoch: 4,
    Diff: 5,
    Trunc: 6,
    Snap: 7,
    Proposal: 8,
    Commit: 9,
    NewLeader: 10,
    Ack: 11,
    UpToDate: 12,
    Ping: 13,
    Request: 14,
    SyncRequest: 15,
    SyncReply: 16,
}


def channel_of(msg: object) -> str:
    """Election traffic and ZAB traffic use separate connections, as in ZooKeeper."""
    return "election" if isinstance(msg, Notification) else "zab"
