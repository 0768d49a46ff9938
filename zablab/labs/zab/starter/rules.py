"""ZAB's recovery and broadcast rules: the file you write in the `zab` lab.

zablab's ZAB replica keeps the logs, sends the messages and talks to the disk; at three points
it calls a function of this file and does what it returns. Each function is pure: it gets a
small frozen value and returns one, nothing else (no clock, no I/O, no state of your own).

A zxid is an int: the epoch in the high 32 bits, a counter in the low 32 (``0x200000003`` is
the third txn of epoch 2). Zxids of one history only grow, so they compare like positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zablab.node.zab.rules import FollowerLog, FollowerStep, LeaderLog, SyncMode, SyncPlan

__all__ = [
    "FollowerLog",
    "FollowerStep",
    "LeaderLog",
    "SyncMode",
    "SyncPlan",
    "choose_sync",
    "commit_point",
    "follower_step",
]


def choose_sync(peer_last: int, log: LeaderLog) -> SyncPlan:
    """The leader syncs a follower whose last zxid is ``peer_last``.

    ``log.zxids`` (ascending) is the leader's log after ``log.snapshot_zxid`` (the last txn
    only its snapshot holds; 0 for an empty history); ``log.last`` its newest zxid. Return
    ``SyncPlan(SyncMode.DIFF)`` when the follower holds a prefix of the leader's history that
    DIFF can extend (the leader then sends every entry after ``peer_last``),
    ``SyncPlan(SyncMode.TRUNC, trunc_to)`` when the follower must first drop everything after
    ``trunc_to`` (one of the leader's zxids; the entries after it follow), and
    ``SyncPlan(SyncMode.SNAP)`` when it is too far behind for DIFF (see the handout).
    """
    raise NotImplementedError("choose_sync")


def follower_step(log: FollowerLog) -> FollowerStep:
    """What the follower does now, given its log (see FollowerLog): called after each
    proposal it appends, when NEWLEADER arrives and each time a log sync lands.

    Return ``FollowerStep(take_epoch=..., ack_newleader=..., ack=...)``: write currentEpoch,
    ACK NEWLEADER, ACK the proposals up to a zxid (or ``ack=None``). The replica does them
    in that order.
    """
    raise NotImplementedError("follower_step")


def commit_point(pending: Sequence[int], acks: Mapping[int, int], quorum: int) -> int | None:
    """The leader's commit rule. ``pending``: the zxids proposed and not committed yet,
    ascending; ``acks``: server id -> the newest zxid on that server's disk as far as the
    leader knows (its own entry included); ``quorum``: how many servers make a majority.
    Return the newest pending zxid that may commit now (everything up to it commits), or
    None.
    """
    raise NotImplementedError("commit_point")
