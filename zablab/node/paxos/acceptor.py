"""The acceptor's rules and phase 1's recovery, as a seam of their own: the replica calls them
through ``Rules``, so the ``paxos`` lab can plug a student's version into the whole replica and
grade it in the simulator, while everything else (roles, windows, catch-up) stays the replica's.

What the rules see of the replica is ``AcceptorState``: the promise and the accepted values,
changed only through it, so that what is in memory and what is on disk cannot drift apart
without the rules saying so. The promise is durable when ``promise`` returns (an atomic state
file, like ZAB's acceptedEpoch); an accepted value is only appended to the log, and the reply
that vouches for it must wait for the log's sync (``AfterSync``), as ZAB's ACK does.

Each round has at most one leader (an acceptor promises a round to one server only), so a
round orders ballots, and it is the ZAB trace's epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .messages import NOOP_PAYLOAD, Accepted, Entry, Nack


class Ballot(NamedTuple):
    """A leader's ballot: its round and its server id (0: nobody promised yet)."""

    round: int
    leader: int


class Value(NamedTuple):
    """What a slot holds: the txn's zxid (kept from the leader that first proposed it; 0 for a
    no-op) and its payload."""

    zxid: int
    payload: bytes


NOOP = Value(0, NOOP_PAYLOAD)


@dataclass(frozen=True)
class Promised:
    """Phase 1b: the promise of ``round``, reporting the values accepted at the slots asked for."""

    round: int
    accepted: list[tuple[int, Entry]]


@dataclass(frozen=True)
class AfterSync:
    """Send ``reply`` once log record ``record`` (from ``AcceptorState.accept``) is on disk."""

    record: int
    reply: Accepted


class AcceptorState(Protocol):
    """The acceptor's state inside the replica."""

    @property
    def promised(self) -> Ballot:
        """The ballot promised so far (round 0 before any)."""
        ...

    def accepted(self, from_slot: int) -> list[tuple[int, Entry]]:
        """The values accepted at slots >= ``from_slot``, by slot."""
        ...

    def promise(self, ballot: Ballot) -> None:
        """Promise ``ballot``: in memory and on disk, durable when this returns."""
        ...

    def accept(self, slot: int, entry: Entry) -> int:
        """Accept ``entry`` at ``slot``: in memory and appended to the log, NOT yet durable.
        Returns the log record to wait for (already durable if the slot is decided here)."""
        ...


PrepareReply = Promised | Nack
AcceptReply = AfterSync | Accepted | Nack


class RuleError(Exception):
    """The rules returned something the replica cannot act on (not a ValueError, which the
    replica takes for a damaged message)."""


def on_prepare(acc: AcceptorState, ballot: Ballot, from_slot: int) -> PrepareReply:
    """Promise a round above every round promised so far (or the same ballot again: its
    leader asks twice), reporting what was accepted from ``from_slot`` on."""
    p = acc.promised
    if ballot.round < p.round or (ballot.round == p.round and ballot != p):
        return Nack(p.round)
    acc.promise(ballot)
    return Promised(ballot.round, acc.accepted(from_slot))


def on_accept(acc: AcceptorState, ballot: Ballot, slot: int, value: Value) -> AcceptReply:
    """Accept in any round at or above the promise (which it raises), acknowledging only once
    the value is on disk."""
    if ballot.round < acc.promised.round:
        return Nack(acc.promised.round)
    acc.promise(ballot)
    record = acc.accept(slot, Entry(ballot.round, value.zxid, value.payload))
    return AfterSync(record, Accepted(ballot.round, slot))


def recover(promises: Iterable[list[tuple[int, Entry]]], first: int) -> dict[int, Value]:
    """Phase 1's result, what the new leader proposes again in its round: per slot from
    ``first`` to the highest any promise reports, the value accepted in the highest round; a
    slot nobody reports gets a no-op (the log is delivered in slot order, so a hole would
    block it)."""
    chosen = adopt(promises)
    top = max([first - 1, *chosen])
    return {s: Value(chosen[s].zxid, chosen[s].payload) if s in chosen else NOOP
            for s in range(first, top + 1)}  # fmt: skip


def adopt(promises: Iterable[list[tuple[int, Entry]]]) -> dict[int, Entry]:
    """Per slot, the value accepted in the highest round among the promises (phase 1's rule)."""
    chosen: dict[int, Entry] = {}
    for entries in promises:
        for slot, e in entries:
            cur = chosen.get(slot)
            if cur is None or e.round > cur.round:
                chosen[slot] = e
    return chosen


@dataclass(frozen=True)
class Rules:
    """The three functions the replica calls."""

    on_prepare: Callable[[AcceptorState, Ballot, int], PrepareReply]
    on_accept: Callable[[AcceptorState, Ballot, int, Value], AcceptReply]
    recover: Callable[[Iterable[list[tuple[int, Entry]]], int], dict[int, Value]]


REFERENCE = Rules(on_prepare, on_accept, recover)


class _Active:
    rules = REFERENCE


def active() -> Rules:
    """The rules replicas use now: the reference, unless a lab plugged its own."""
    return _Active.rules


@contextmanager
def plugged(rules: Rules) -> Iterator[Rules]:
    """Every Paxos replica uses ``rules`` within the block (the lab's grader runs one test per
    process, so a process-wide switch is enough and stays out of the replicas' state)."""
    before, _Active.rules = _Active.rules, rules
    try:
        yield rules
    finally:
        _Active.rules = before
