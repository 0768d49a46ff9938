"""The three decisions of ZAB's recovery and broadcast that keep acknowledged writes safe.

The replica (replica.py) does the bookkeeping, the messages and the disk; at three points it
asks a pure function what to do, and this module holds them:

- ``choose_sync``: how the leader brings a follower's log in line with its own (DIFF,
  TRUNC+DIFF or SNAP), from the follower's last zxid and the leader's log window. A follower
  that holds a txn the leader never had must be cut back first, or the txn stays in its log
  beside the leader's history (ZOOKEEPER-1154).
- ``follower_step``: when a follower may ACK and take the new leader's epoch. An ACK says
  "this is on my disk", so it may only follow the fsync; currentEpoch says "I hold leader e's
  history", so it may only be written once that history is on disk (else a crash leaves a
  server whose vote outranks servers that hold committed txns it lost; cf. ZOOKEEPER-4646).
- ``commit_point``: how far the leader may commit: a txn is committed once a quorum has it on
  disk, and txns commit in zxid order.

They are pure and typed so that the ``zab`` lab (zablab/labs/zab) can plug a student's
versions in for a ``with plugged(...)`` block: the replica takes the set that is active when
it is built. The seeded bugs of the registry (zablab/bugs.py) stay switches of the replica.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum


class SyncMode(StrEnum):
    DIFF = "DIFF"  # the follower's log is a prefix of ours: send what it lacks
    TRUNC = "TRUNC"  # cut the follower's log back to ``trunc_to``, then send what follows it
    SNAP = "SNAP"  # too far behind our window: replace its state by our snapshot


@dataclass(frozen=True)
class LeaderLog:
    """The leader's history as a sync sees it: ``zxids`` (ascending, committed and proposed)
    follow ``snapshot_zxid``, the last txn only its snapshot holds (0: the empty history).
    DIFF can replay at most the newest ``diff_limit`` entries (ZooKeeper's committed log):
    a follower further behind gets a SNAP."""

    snapshot_zxid: int
    zxids: tuple[int, ...]
    diff_limit: int

    @property
    def last(self) -> int:
        return self.zxids[-1] if self.zxids else self.snapshot_zxid


@dataclass(frozen=True)
class SyncPlan:
    mode: SyncMode
    trunc_to: int = 0  # TRUNC: the last zxid the follower keeps (one of the leader's history)


@dataclass(frozen=True)
class FollowerLog:
    """A follower's log during and after its sync, as ``follower_step`` sees it.

    ``history`` is None until NEWLEADER arrives; then it is the last zxid of the new leader's
    history (our last zxid when NEWLEADER came). ``durable_zxid``: the newest txn on disk
    (synced, or in a snapshot); ``last_zxid``: the newest appended, maybe not synced yet;
    ``acked_zxid``: the newest we ACKed (covered by the NEWLEADER ACK or by a proposal ACK).
    """

    history: int | None
    epoch_taken: bool  # currentEpoch already holds the new leader's epoch
    newleader_acked: bool
    last_zxid: int
    durable_zxid: int
    acked_zxid: int


@dataclass(frozen=True)
class FollowerStep:
    """What the follower does now, in this order."""

    take_epoch: bool = False  # write currentEpoch := the new leader's epoch
    ack_newleader: bool = False  # ACK NEWLEADER (it covers the whole history)
    ack: int | None = None  # ACK the proposals up to this zxid


SyncRule = Callable[[int, LeaderLog], SyncPlan]
FollowerRule = Callable[[FollowerLog], FollowerStep]
CommitRule = Callable[[Sequence[int], Mapping[int, int], int], "int | None"]


def choose_sync(peer_last: int, log: LeaderLog) -> SyncPlan:
    """As ZooKeeper's LearnerHandler.syncFollower: which sync brings a follower whose last
    zxid is ``peer_last`` to the leader's history."""
    last = log.last
    if peer_last >= last:
        # equal: nothing to send; ahead: it holds txns we never had, cut them off
        return SyncPlan(SyncMode.DIFF) if peer_last == last else SyncPlan(SyncMode.TRUNC, last)
    zs = log.zxids
    floor = log.snapshot_zxid if len(zs) <= log.diff_limit else zs[-log.diff_limit - 1]
    if peer_last < floor:
        return SyncPlan(SyncMode.SNAP)
    i = bisect.bisect_right(zs, peer_last)
    if peer_last == log.snapshot_zxid or (i > 0 and zs[i - 1] == peer_last):
        return SyncPlan(SyncMode.DIFF)
    # its last txn is not ours: it diverged after our predecessor of that zxid
    return SyncPlan(SyncMode.TRUNC, zs[i - 1] if i > 0 else log.snapshot_zxid)


def follower_step(log: FollowerLog) -> FollowerStep:
    """Nothing is acknowledged before it is on disk; the epoch is taken with the NEWLEADER
    ACK, once the whole history is durable; after it, ACK what the disk holds."""
    if log.history is None:
        return FollowerStep()  # during the sync: the NEWLEADER ACK will cover it all
    if not log.newleader_acked:
        if log.durable_zxid < log.history:
            return FollowerStep()
        return FollowerStep(take_epoch=not log.epoch_taken, ack_newleader=True)
    top = min(log.durable_zxid, log.last_zxid)
    return FollowerStep(ack=top if top > log.acked_zxid else None)


def commit_point(pending: Sequence[int], acks: Mapping[int, int], quorum: int) -> int | None:
    """The newest of the ``pending`` zxids (ascending, not yet committed) that may commit:
    it and every one before it are on the disks of a quorum (``acks``: server -> newest zxid
    on its disk, the leader's own included). None: none may."""
    on_disk = sorted(acks.values(), reverse=True)
    if len(on_disk) < quorum:
        return None
    # a quorum holds everything up to here
    point = on_disk[quorum - 1]
    i = bisect.bisect_right(pending, point)
    return pending[i - 1] if i else None


@dataclass(frozen=True)
class RuleSet:
    choose_sync: SyncRule
    follower_step: FollowerRule
    commit_point: CommitRule


REFERENCE = RuleSet(choose_sync, follower_step, commit_point)
_active = [REFERENCE]


def active() -> RuleSet:
    """The rules a replica built now uses."""
    return _active[-1]


@contextmanager
def plugged(rules: RuleSet) -> Iterator[RuleSet]:
    """Replicas built inside the block use ``rules`` (the lab's way in, as elections'
    ``plugged``); the process is the grader's child, so nothing else runs meanwhile."""
    _active.append(rules)
    try:
        yield rules
    finally:
        _active.remove(rules)


__all__ = [
    "REFERENCE",
    "FollowerLog",
    "FollowerStep",
    "LeaderLog",
    "RuleSet",
    "SyncMode",
    "SyncPlan",
    "active",
    "choose_sync",
    "commit_point",
    "follower_step",
    "plugged",
]
