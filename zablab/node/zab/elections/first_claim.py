"""``first-claim``: whoever announces first leads, whatever history it holds.

A peer that starts looking listens for twice the finalize wait and adopts the first claim
it hears; if none comes it claims the lead itself. Within a round a peer never switches: the
first claim it holds stays. A newer round (a peer that gave up waiting and claimed again) is a
new first claim, adopted at once. Claims that split the vote leave no quorum; a peer then
claims again in a new round after a wait staggered by its rank, so that one claim ends up first.
"""

from __future__ import annotations

from typing import ClassVar

from ..election import Election, Vote
from ..messages import LOOKING, Notification

Sends = list[tuple[int, Notification]]


class FirstClaim(Election):
    NAME: ClassVar[str] = "first-claim"
    ELECTS_NEWEST: ClassVar[bool] = False

    holding = False  # have we claimed, or adopted a claim, in this round?
    claim_at = 0
    retry_at = 0

    def retry_wait(self) -> int:
        """Staggered by rank, so that after a split one peer claims again before the rest."""
        rank = sorted([self.my_id, *self.peers]).index(self.my_id)
        return 4 * self.finalize_wait_ms * (rank + 2)

    def adopt_in_new_round(self, theirs: Vote) -> Vote:
        return theirs

    def adopt_in_round(self, theirs: Vote) -> bool:
        return not self.holding

    def start(self, now: int) -> Sends:
        self.recv = {}
        self.claim_at = now + 2 * self.finalize_wait_ms
        self.resend_at = self.claim_at
        return []

    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]:
        if n.state == LOOKING and n.round < self.round and not self.holding:
            return [], None  # nothing to tell it yet
        if n.state == LOOKING and (n.round > self.round or not self.holding):
            self.holding = True
            self.retry_at = now + self.retry_wait()
            if n.round == self.round:
                self.vote = Vote(n.leader, n.zxid, n.epoch)
                self.decide_at = None
                sends = self.broadcast()
                self.recv[frm] = self.vote
                self.recv[self.my_id] = self.vote
                self._update_deadline(now)
                return sends, None
        return super().on_notification(now, frm, n)

    def on_timer(self, now: int) -> tuple[Sends, Vote | None]:
        if self.decide_at is not None and now >= self.decide_at:
            return [], self.vote
        if not self.holding and now >= self.claim_at:
            return self._claim(now), None
        if self.holding and self.decide_at is None and now >= self.retry_at:
            self.round += 1  # our claim (or the one we held) found no quorum: claim anew
            return self._claim(now), None
        if self.holding:
            return super().on_timer(now)
        return [], None

    def next_deadline(self) -> int:
        if not self.holding:
            return self.claim_at
        return min(super().next_deadline(), self.retry_at)

    def _claim(self, now: int) -> Sends:
        self.holding = True
        self.vote = self.self_vote
        self.recv = {self.my_id: self.vote}
        self.decide_at = None
        self.retry_at = now + self.retry_wait()
        self.resend_at = now + self.interval
        self._update_deadline(now)
        return self.broadcast()
