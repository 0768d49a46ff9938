"""Mutant: the round is ignored: every LOOKING notification is taken as one of ours, so a
newer round never resets the tally and an older one's votes count."""

from __future__ import annotations

from dataclasses import replace

from zablab.labs.fle.reference.election import Election as Reference
from zablab.labs.fle.reference.election import Sends
from zablab.node.zab.election import Vote
from zablab.node.zab.messages import LOOKING, Notification

EXPECTED_FAILURE = "round.higher_resets_tally"


class Election(Reference):
    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]:
        if n.state == LOOKING:
            n = replace(n, round=self.round)
        return super().on_notification(now, frm, n)
