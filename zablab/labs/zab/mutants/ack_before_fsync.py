"""Mutant: the follower ACKs what it has appended, not what is on its disk (and NEWLEADER
before the fsync), so a crash loses txns the leader counted."""

from __future__ import annotations

from dataclasses import replace

from zablab.labs.zab.reference.rules import choose_sync, commit_point
from zablab.labs.zab.reference.rules import follower_step as reference_step
from zablab.node.zab.rules import FollowerLog, FollowerStep

EXPECTED_FAILURES = ("follower.no_ack_before_fsync", "scenario.ack_after_fsync")
__all__ = ["choose_sync", "commit_point", "follower_step"]


def follower_step(log: FollowerLog) -> FollowerStep:
    return reference_step(replace(log, durable_zxid=max(log.durable_zxid, log.last_zxid)))
