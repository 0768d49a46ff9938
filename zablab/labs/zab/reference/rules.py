"""ZAB's recovery and broadcast rules (the reference solution of the `zab` lab)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zablab.node.zab.rules import FollowerLog, FollowerStep, LeaderLog, SyncMode, SyncPlan


def choose_sync(peer_last: int, log: LeaderLog) -> SyncPlan:
    history = [log.snapshot_zxid, *log.zxids]
    if peer_last > log.last:
        return SyncPlan(SyncMode.TRUNC, log.last)  # it has txns we never had
    # DIFF replays the newest diff_limit entries: the follower must hold the one before them
    oldest_diffable = history[max(0, len(history) - 1 - log.diff_limit)]
    if peer_last < oldest_diffable:
        return SyncPlan(SyncMode.SNAP)
    if peer_last in history:
        return SyncPlan(SyncMode.DIFF)
    # diverged: keep what we share, i.e. everything up to our newest zxid below its last
    common = max(h for h in history if h < peer_last)
    return SyncPlan(SyncMode.TRUNC, common)


def follower_step(log: FollowerLog) -> FollowerStep:
    if log.history is None:
        return FollowerStep()  # still syncing: the NEWLEADER ACK will cover it all
    if not log.newleader_acked:
        if log.durable_zxid < log.history:
            return FollowerStep()  # wait for the fsync: nothing before it
        # the history is on disk: now (and not earlier) we hold the new leader's epoch
        return FollowerStep(take_epoch=not log.epoch_taken, ack_newleader=True)
    on_disk = min(log.durable_zxid, log.last_zxid)
    return FollowerStep(ack=on_disk if on_disk > log.acked_zxid else None)


def commit_point(pending: Sequence[int], acks: Mapping[int, int], quorum: int) -> int | None:
    point = None
    for zxid in pending:  # in zxid order: stop at the first without a quorum
        if sum(1 for on_disk in acks.values() if on_disk >= zxid) < quorum:
            break
        point = zxid
    return point
