"""Fast Leader Election's vote logic: the file you write in the `fle` lab.

The ZAB replica builds one ``Election`` each time it starts looking for a leader, feeds it
the notifications it receives and the expiry of the deadline you ask for, and sends the
notifications you return. Nothing here reads a clock, sleeps or does I/O: ``now`` is given
in milliseconds, and you return what to send as ``(peer id, Notification)`` pairs.

A notification carries a vote (``leader``, ``zxid``, ``epoch``: the proposed leader and its
history), the sender's ``round`` (its logical clock) and ``state``: LOOKING while it elects,
FOLLOWING or LEADING once it has decided.
"""

from __future__ import annotations

from zablab.node.zab.election import Vote
from zablab.node.zab.messages import LEADING, LOOKING, Notification

Sends = list[tuple[int, Notification]]

__all__ = ["LEADING", "LOOKING", "Election", "Notification", "Vote"]


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
        """``members`` includes ``my_id``; ``self_vote`` is this server's own history
        (Vote(my_id, last zxid, currentEpoch)); ``round_`` the round to start in. Resend the
        vote when nothing is decided, starting every 200 ms (or ``max_notify_interval_ms`` if
        smaller) and doubling up to ``max_notify_interval_ms``. ``ignore_zxid`` is a seeded
        bug of zablab's own election: accept it and ignore it."""
        self.my_id = my_id
        self.peers = [m for m in members if m != my_id]
        self.quorum = len(members) // 2 + 1
        self.round = round_  # the replica reads it once you decide
        self.self_vote = self_vote
        self.vote = self_vote  # the vote this server proposes now; the replica reads it
        self.finalize_wait_ms = finalize_wait_ms
        self.max_interval = max_notify_interval_ms

    def better(self, a: Vote, b: Vote) -> bool:
        """True when vote ``a`` beats vote ``b`` in Fast Leader Election's total order."""
        raise NotImplementedError("better")

    def notification(self) -> Notification:
        """Our current vote as a LOOKING notification of our round."""
        v = self.vote
        return Notification(v.leader, v.zxid, v.epoch, self.round, LOOKING)

    def broadcast(self) -> Sends:
        """Our current vote, to every peer."""
        n = self.notification()
        return [(p, n) for p in self.peers]

    def start(self, now: int) -> Sends:
        """We start looking at ``now``: what to send."""
        raise NotImplementedError("start")

    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]:
        """Peer ``frm`` sent ``n``. Returns what to send and, if this settles the election at
        once (joining a leader that is already established), the leader's vote."""
        raise NotImplementedError("on_notification")

    def on_timer(self, now: int) -> tuple[Sends, Vote | None]:
        """The deadline of ``next_deadline`` came (or passed). Returns what to send and the
        decided vote, if the election is over."""
        raise NotImplementedError("on_timer")

    def next_deadline(self) -> int:
        """When on_timer must next be called (ms, the same clock as ``now``)."""
        raise NotImplementedError("next_deadline")
