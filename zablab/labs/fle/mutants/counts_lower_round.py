"""Mutant: a LOOKING peer's vote from a lower round is counted in our tally (and still
answered)."""

from __future__ import annotations

from zablab.labs.fle.reference.election import Election as Reference
from zablab.labs.fle.reference.election import Sends
from zablab.node.zab.election import Vote
from zablab.node.zab.messages import LOOKING, Notification

EXPECTED_FAILURE = "round.lower_not_counted"


class Election(Reference):
    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]:
        if n.state == LOOKING and n.round < self.round:
            self.votes[frm] = Vote(n.leader, n.zxid, n.epoch)
            if sum(1 for v in self.votes.values() if v == self.vote) >= self.quorum:
                self.decide_at = self.decide_at or now + self.finalize_wait_ms
        return super().on_notification(now, frm, n)
