"""Fast Leader Election's vote logic (the reference solution of the `fle` lab).

The replica builds one Election each time it goes looking, feeds it notifications and timer
expiries, and sends what it returns. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from zablab.node.zab.election import Vote
from zablab.node.zab.messages import LEADING, LOOKING, Notification

Sends = list[tuple[int, Notification]]


class Election:
    def __init__(
        self,
        my_id: int,
        members: list[int],
        round_: int,
        self_vote: Vote,
        *,
        finalize_wait_ms: int,
        max_notify_interval_ms: int,
        ignore_zxid: bool = False,
    ) -> None:
        self.my_id = my_id
        self.peers = [m for m in members if m != my_id]
        self.quorum = len(members) // 2 + 1
        self.round = round_
        self.self_vote = self_vote
        self.vote = self_vote
        self.finalize_wait_ms = finalize_wait_ms
        self.max_interval = max_notify_interval_ms
        self.votes: dict[int, Vote] = {}
        self.settled: dict[int, tuple[Vote, str]] = {}
        self.decide_at: int | None = None
        self.interval = min(200, max_notify_interval_ms)
        self.resend_at = 0

    def better(self, a: Vote, b: Vote) -> bool:
        return (a.epoch, a.zxid, a.leader) > (b.epoch, b.zxid, b.leader)

    def notification(self) -> Notification:
        v = self.vote
        return Notification(v.leader, v.zxid, v.epoch, self.round, LOOKING)

    def broadcast(self) -> Sends:
        n = self.notification()
        return [(p, n) for p in self.peers]

    def start(self, now: int) -> Sends:
        self.votes = {self.my_id: self.vote}
        self.resend_at = now + self.interval
        return self.broadcast()

    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]:
        theirs = Vote(n.leader, n.zxid, n.epoch)
        if n.state != LOOKING:
            return [], self._join(frm, n, theirs)
        if n.round < self.round:
            return [(frm, self.notification())], None
        sends: Sends = []
        if n.round > self.round:
            self.round = n.round
            self.votes = {}
            self.vote = max(theirs, self.self_vote, key=self._key)
            sends = self.broadcast()
        elif self.better(theirs, self.vote):
            self.vote = theirs
            sends = self.broadcast()
        self.votes[frm] = theirs
        self.votes[self.my_id] = self.vote
        if sends:
            self.decide_at = None  # a new vote waits finalizeWait afresh
        if sum(1 for v in self.votes.values() if v == self.vote) < self.quorum:
            self.decide_at = None
        elif self.decide_at is None:
            self.decide_at = now + self.finalize_wait_ms
        return sends, None

    def on_timer(self, now: int) -> tuple[Sends, Vote | None]:
        if self.decide_at is not None and now >= self.decide_at:
            return [], self.vote
        if now < self.resend_at:
            return [], None
        self.interval = min(2 * self.interval, self.max_interval)
        self.resend_at = now + self.interval
        return self.broadcast(), None

    def next_deadline(self) -> int:
        return self.resend_at if self.decide_at is None else min(self.resend_at, self.decide_at)

    def _key(self, v: Vote) -> tuple[int, int, int]:
        return (v.epoch, v.zxid, v.leader)

    def _join(self, frm: int, n: Notification, theirs: Vote) -> Vote | None:
        self.settled[frm] = (theirs, n.state)
        if n.round == self.round:
            self.votes[frm] = theirs
        in_round = sum(1 for v in self.votes.values() if v == theirs)
        backers = sum(
            1
            for v, _ in self.settled.values()
            if (v.leader, v.epoch) == (theirs.leader, theirs.epoch)
        )
        if max(in_round, backers) < self.quorum or not self._leader_ok(theirs, n):
            return None
        if in_round < self.quorum:
            self.round = n.round
        return theirs

    def _leader_ok(self, v: Vote, n: Notification) -> bool:
        if v.leader == self.my_id:
            return n.round == self.round
        seen = self.settled.get(v.leader)
        return seen is not None and seen[1] == LEADING
