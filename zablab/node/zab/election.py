"""Fast Leader Election (sans-IO), as ZooKeeper's FastLeaderElection.

A peer in LOOKING state proposes a vote, adopts any better vote it hears in its round
(votes ordered by currentEpoch, then last zxid, then server id, so the most up-to-date peer of
any quorum wins), and decides once a quorum holds its vote and no better vote arrives within
``finalize_wait``. Peers already FOLLOWING/LEADING answer with the leader they follow, so a
latecomer joins an established leader once a quorum confirms it and the leader itself says
LEADING.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .messages import LEADING, LOOKING, Notification


@dataclass(frozen=True)
class Vote:
    leader: int
    zxid: int
    epoch: int  # the proposed leader's currentEpoch (ZooKeeper's peerEpoch)


class Election:
    """The ``fle`` scheme; zablab/node/zab/elections/ holds the others and the registry."""

    NAME: ClassVar[str] = "fle"
    # The replica's discovery steps down when a follower is ahead of it: right for a scheme
    # that elects the newest history, a livelock for one that does not.
    ELECTS_NEWEST: ClassVar[bool] = True

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
        self.ignore_zxid = ignore_zxid
        self.recv: dict[int, Vote] = {}  # LOOKING peers' votes in my round
        self.out: dict[int, tuple[Vote, int, str]] = {}  # (vote, round, state) of non-LOOKING
        self.decide_at: int | None = None
        self.interval = min(200, max_notify_interval_ms)
        self.resend_at = 0

    # -- ordering --------------------------------------------------------------------------

    def better(self, a: Vote, b: Vote) -> bool:
        """True when ``a`` beats ``b`` (ZooKeeper's totalOrderPredicate)."""
        if self.ignore_zxid:
            return (a.epoch, a.leader) > (b.epoch, b.leader)
        return (a.epoch, a.zxid, a.leader) > (b.epoch, b.zxid, b.leader)

    def adopt_in_new_round(self, theirs: Vote) -> Vote:
        """The vote to hold when ``theirs`` opens a newer round (the tally starts over)."""
        return theirs if self.better(theirs, self.self_vote) else self.self_vote

    def adopt_in_round(self, theirs: Vote) -> bool:
        """Whether ``theirs``, heard in our round, replaces the vote we hold."""
        return self.better(theirs, self.vote)

    # -- events ----------------------------------------------------------------------------

    def notification(self) -> Notification:
        return Notification(self.vote.leader, self.vote.zxid, self.vote.epoch, self.round, LOOKING)

    def broadcast(self) -> list[tuple[int, Notification]]:
        n = self.notification()
        return [(p, n) for p in self.peers]

    def start(self, now: int) -> list[tuple[int, Notification]]:
        self.resend_at = now + self.interval
        self.recv = {self.my_id: self.vote}
        return self.broadcast()

    def on_notification(
        self, now: int, frm: int, n: Notification
    ) -> tuple[list[tuple[int, Notification]], Vote | None]:
        """Returns notifications to send and, when decided at once, the winning vote."""
        sends: list[tuple[int, Notification]] = []
        theirs = Vote(n.leader, n.zxid, n.epoch)
        if n.state == LOOKING:
            if n.round > self.round:
                self.round = n.round
                self.recv = {}
                self.vote = self.adopt_in_new_round(theirs)
                self.decide_at = None
                sends = self.broadcast()
            elif n.round < self.round:
                return [(frm, self.notification())], None
            elif self.adopt_in_round(theirs):
                self.vote = theirs
                self.decide_at = None
                sends = self.broadcast()
            self.recv[frm] = theirs
            self.recv[self.my_id] = self.vote
            self._update_deadline(now)
            return sends, None
        return sends, self.on_settled_peer(frm, n, theirs)

    def on_settled_peer(self, frm: int, n: Notification, theirs: Vote) -> Vote | None:
        """A FOLLOWING/LEADING peer told us its leader: the vote to decide on, if confirmed."""
        self.out[frm] = (theirs, n.round, n.state)
        if n.round == self.round:
            self.recv[frm] = theirs
            if self._count(self.recv, theirs) >= self.quorum and self._leader_ok(theirs, n):
                return theirs
        backers = sum(
            1 for v, _, _ in self.out.values() if (v.leader, v.epoch) == (n.leader, n.epoch)
        )
        if backers >= self.quorum and self._leader_ok(theirs, n):
            self.round = n.round
            return theirs
        return None

    def on_timer(self, now: int) -> tuple[list[tuple[int, Notification]], Vote | None]:
        if self.decide_at is not None and now >= self.decide_at:
            return [], self.vote
        sends: list[tuple[int, Notification]] = []
        if now >= self.resend_at:
            # Nothing decided for a while: say it again (lost notifications, restarted peers).
            sends = self.broadcast()
            self.interval = min(self.interval * 2, self.max_interval)
            self.resend_at = now + self.interval
        return sends, None

    def next_deadline(self) -> int:
        return self.resend_at if self.decide_at is None else min(self.resend_at, self.decide_at)

    # -- helpers ---------------------------------------------------------------------------

    def _count(self, votes: dict[int, Vote], v: Vote) -> int:
        return sum(1 for x in votes.values() if x == v)

    def _update_deadline(self, now: int) -> None:
        if self._count(self.recv, self.vote) >= self.quorum:
            if self.decide_at is None:
                self.decide_at = now + self.finalize_wait_ms
        else:
            self.decide_at = None

    def _leader_ok(self, v: Vote, n: Notification) -> bool:
        """ZooKeeper's checkLeader: the leader itself must have said LEADING (or be me)."""
        if v.leader == self.my_id:
            return n.round == self.round
        seen = self.out.get(v.leader)
        return seen is not None and seen[2] == LEADING
