"""The seam between a replica (ZAB today, Multi-Paxos later) and its two drivers.

The simulator (zablab/sim) and the ensemble runtime (zablab/node/ensemble.py) type against
``Replica``, never against a protocol's class, and build one with ``factory.make_replica``. A
replica is sans-IO: every method takes the driver's clock and returns actions (actions.py) that
the driver performs in order.
"""

from __future__ import annotations

from typing import Any, Protocol

from .actions import Action


class Application(Protocol):
    def snapshot(self) -> tuple[int, bytes]:
        """(zxid, bytes) of the state after every Deliver/InstallSnapshot handed out so far."""
        ...


class NotLeader(Exception):
    """``propose`` outside an established leadership; the caller fails the request."""


class NotServing(Exception):
    """``submit`` while the replica is electing or syncing; the caller fails the request."""


class Replica(Protocol):
    @property
    def is_leader(self) -> bool: ...

    @property
    def serving(self) -> bool:
        """Leading, or following a leader it is synced with: clients may be served."""
        ...

    @property
    def last_zxid(self) -> int: ...

    def monitor(self) -> dict[str, int]:
        """The replica's gauges for mntr, by ZooKeeper's names: the leader it follows or is
        (``leader``, -1 for none) and, at a leader, ``learners``, ``synced_followers``."""
        ...

    @property
    def committed_zxid(self) -> int: ...

    @property
    def next_zxid(self) -> int:
        """The zxid the next ``propose`` assigns (NotLeader unless leading)."""
        ...

    def channel_of(self, msg: Any) -> str:
        """The peer connection ``msg`` travels on ("election" or "zab"); each is FIFO."""
        ...

    def start(self, now: int) -> list[Action]: ...

    def on_message(self, now: int, frm: int, msg: Any) -> list[Action]: ...

    def on_disconnect(self, now: int, peer: int) -> list[Action]: ...

    def on_tick(self, now: int) -> list[Action]: ...

    def on_timer(self, now: int) -> list[Action]: ...

    def on_flushed(self, now: int) -> list[Action]: ...

    def propose(self, now: int, payload: bytes) -> list[Action]: ...

    def submit(self, now: int, request: bytes) -> list[Action]: ...

    def sync(self, now: int, token: int) -> list[Action]: ...

    def touch(self, data: bytes) -> None: ...

    def compact(self, now: int) -> list[Action]: ...
