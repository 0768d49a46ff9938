"""What a replica asks its driver to do; the driver performs them in list order.

The drivers dispatch on ``Action`` with ``match`` and ``assert_never``, so a new action that a
driver does not handle is a type error, not a silently dropped request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Send:
    to: int
    msg: Any  # a record of the replica protocol's message table (its codec frames it)


@dataclass(frozen=True)
class Close:
    """Drop the ZAB connection to ``peer`` (both sides then see ``on_disconnect``)."""

    peer: int


@dataclass(frozen=True)
class Flush:
    """Call ``storage.log.sync()`` (now or later, e.g. batched) and then ``on_flushed``."""


@dataclass(frozen=True)
class SetTimer:
    """Call ``on_timer`` at virtual/real time ``at`` (ms); earlier calls are harmless."""

    at: int


@dataclass(frozen=True)
class Deliver:
    """Apply this committed txn to the application. Under ZAB zxids arrive strictly
    increasing; under Multi-Paxos a zxid may step back where primary order breaks."""

    zxid: int
    payload: bytes
    pos: int


@dataclass(frozen=True)
class InstallSnapshot:
    """Replace the application state by this snapshot (from ``app.snapshot()`` of a peer)."""

    zxid: int
    data: bytes
    pos: int


@dataclass(frozen=True)
class RoleChange:
    role: str  # LOOKING | FOLLOWING | LEADING (LEADING/FOLLOWING only once serving)
    epoch: int
    leader: int | None


@dataclass(frozen=True)
class ForwardedRequest:
    """At the leader: prepare ``request`` (forwarded by ``origin``) and ``propose`` it."""

    origin: int
    request: bytes


@dataclass(frozen=True)
class Touched:
    """At the leader: a follower's server reports session activity (opaque ``data``)."""

    origin: int
    data: bytes


@dataclass(frozen=True)
class Synced:
    """The sync with this ``token`` is done: everything committed before it was delivered."""

    token: int


@dataclass(frozen=True)
class Trace:
    event: dict[str, Any] = field(default_factory=dict)


Action = (
    Send
    | Close
    | Flush
    | SetTimer
    | Deliver
    | InstallSnapshot
    | RoleChange
    | ForwardedRequest
    | Synced
    | Touched
    | Trace
)
