"""Mutant: decides the moment a quorum agrees, without waiting finalizeWait for a better
vote."""

from __future__ import annotations

from zablab.labs.fle.reference.election import Election as Reference
from zablab.labs.fle.reference.election import Sends
from zablab.node.zab.election import Vote
from zablab.node.zab.messages import Notification

EXPECTED_FAILURE = "decide.waits_finalize"


class Election(Reference):
    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]:
        sends, decided = super().on_notification(now, frm, n)
        if decided is None and self.decide_at is not None:
            return sends, self.vote
        return sends, decided
