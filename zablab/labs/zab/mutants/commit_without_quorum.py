"""Mutant: the leader commits what any one server (its own disk, in practice) holds,
without waiting for a quorum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zablab.labs.zab.reference.rules import choose_sync, follower_step
from zablab.labs.zab.reference.rules import commit_point as reference_commit

EXPECTED_FAILURES = ("commit.needs_quorum", "scenario.commit_quorum")
__all__ = ["choose_sync", "commit_point", "follower_step"]


def commit_point(pending: Sequence[int], acks: Mapping[int, int], quorum: int) -> int | None:
    return reference_commit(pending, acks, 1)
