"""Mutant: a diverged follower gets DIFF without the TRUNC it needs, so the failed leader's
txn stays in its log under the new history (ZOOKEEPER-1154)."""

from __future__ import annotations

from zablab.labs.zab.reference.rules import choose_sync as reference_sync
from zablab.labs.zab.reference.rules import commit_point, follower_step
from zablab.node.zab.rules import LeaderLog, SyncMode, SyncPlan

EXPECTED_FAILURES = ("sync.trunc_diverged", "scenario.trunc_diverged")
__all__ = ["choose_sync", "commit_point", "follower_step"]


def choose_sync(peer_last: int, log: LeaderLog) -> SyncPlan:
    plan = reference_sync(peer_last, log)
    if plan.mode is SyncMode.TRUNC and peer_last < log.last:
        return SyncPlan(SyncMode.DIFF)
    return plan
