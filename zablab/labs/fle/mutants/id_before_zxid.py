"""Mutant: votes compare the server id before the zxid, so a higher id with an older history
wins an epoch."""

from __future__ import annotations

from zablab.labs.fle.reference.election import Election as Reference
from zablab.node.zab.election import Vote

EXPECTED_FAILURE = "order.zxid_before_id"


class Election(Reference):
    def better(self, a: Vote, b: Vote) -> bool:
        return (a.epoch, a.leader, a.zxid) > (b.epoch, b.leader, b.zxid)

    def _key(self, v: Vote) -> tuple[int, int, int]:
        return (v.epoch, v.leader, v.zxid)
