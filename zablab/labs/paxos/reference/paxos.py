"""The acceptor's rules and the new leader's recovery (the reference solution of the `paxos` lab).

The Multi-Paxos replica calls these three functions and does everything else: roles, the
pipelining window, heartbeats, catch-up. Nothing here does I/O except through ``acc``.
"""

from __future__ import annotations

from collections.abc import Iterable

from zablab.node.paxos.acceptor import (
    NOOP,
    AcceptorState,
    AfterSync,
    Ballot,
    Promised,
    Value,
)
from zablab.node.paxos.messages import Accepted, Entry, Nack

__all__ = ["on_accept", "on_prepare", "recover"]


def on_prepare(acc: AcceptorState, ballot: Ballot, from_slot: int) -> Promised | Nack:
    promised = acc.promised
    newer = ballot.round > promised.round
    if not newer and ballot != promised:
        return Nack(promised.round)  # a round is promised to one leader, and never undone
    acc.promise(ballot)  # on disk before the Promise leaves
    return Promised(ballot.round, acc.accepted(from_slot))


def on_accept(
    acc: AcceptorState, ballot: Ballot, slot: int, value: Value
) -> AfterSync | Accepted | Nack:
    if ballot.round < acc.promised.round:
        return Nack(acc.promised.round)
    acc.promise(ballot)  # accepting in a round promises it too
    record = acc.accept(slot, Entry(ballot.round, value.zxid, value.payload))
    return AfterSync(record, Accepted(ballot.round, slot))


def recover(promises: Iterable[list[tuple[int, Entry]]], first: int) -> dict[int, Value]:
    best: dict[int, Entry] = {}
    for accepted in promises:
        for slot, entry in accepted:
            if slot >= first and (slot not in best or entry.round > best[slot].round):
                best[slot] = entry
    top = max(best, default=first - 1)
    out: dict[int, Value] = {}
    for slot in range(first, top + 1):
        e = best.get(slot)
        out[slot] = NOOP if e is None else Value(e.zxid, e.payload)
    return out
