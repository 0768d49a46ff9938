"""Mutant: the follower writes the new leader's currentEpoch as soon as NEWLEADER arrives,
before the history it received is on disk (ZOOKEEPER-4646's order)."""

from __future__ import annotations

from dataclasses import replace

from zablab.labs.zab.reference.rules import choose_sync, commit_point
from zablab.labs.zab.reference.rules import follower_step as reference_step
from zablab.node.zab.rules import FollowerLog, FollowerStep

EXPECTED_FAILURES = ("follower.epoch_after_history", "scenario.epoch_after_history")
__all__ = ["choose_sync", "commit_point", "follower_step"]


def follower_step(log: FollowerLog) -> FollowerStep:
    step = reference_step(log)
    if log.history is not None and not log.epoch_taken:
        return replace(step, take_epoch=True)
    return step
