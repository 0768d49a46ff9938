"""The acceptor's rules and the new leader's recovery: the file you write in the `paxos` lab.

zablab's Multi-Paxos replica calls these three functions for every Prepare and Accept it
receives and once per phase 1 it wins; it does everything else (roles, the pipelining window,
heartbeats, catching a lagging replica up). Read and change the acceptor's state only through
``acc`` (see ``AcceptorState`` in zablab/node/paxos/acceptor.py):

- ``acc.promised``: the ballot promised so far, ``Ballot(round, leader)`` (round 0: none yet);
- ``acc.accepted(from_slot)``: the ``(slot, Entry)`` pairs accepted at slots >= from_slot;
- ``acc.promise(ballot)``: promise it, in memory and on disk (durable when it returns);
- ``acc.accept(slot, entry)``: accept it, in memory and appended to the log, NOT yet durable;
  returns the log record number to wait for before you vouch for it.

An ``Entry(round, zxid, payload)`` is a value accepted in round ``round``.
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

__all__ = [
    "NOOP", "AcceptorState", "Accepted", "AfterSync", "Ballot", "Entry", "Nack", "Promised",
    "Value", "on_accept", "on_prepare", "recover",
]  # fmt: skip


def on_prepare(acc: AcceptorState, ballot: Ballot, from_slot: int) -> Promised | Nack:
    """Phase 1b. The leader of ``ballot`` asks for a promise and for every value this acceptor
    accepted at slots >= ``from_slot``. Return ``Promised(round, accepted)`` or, to refuse,
    ``Nack(round promised so far)``."""
    raise NotImplementedError("on_prepare")


def on_accept(
    acc: AcceptorState, ballot: Ballot, slot: int, value: Value
) -> AfterSync | Accepted | Nack:
    """Phase 2b. The leader of ``ballot`` asks this acceptor to accept ``value`` at ``slot``.
    Return ``Nack(round promised so far)`` to refuse; to accept, the reply
    ``Accepted(round, slot)``, wrapped in ``AfterSync(record, reply)`` to send it only once
    log record ``record`` is on disk."""
    raise NotImplementedError("on_accept")


def recover(promises: Iterable[list[tuple[int, Entry]]], first: int) -> dict[int, Value]:
    """After phase 1: ``promises`` holds each promise's accepted ``(slot, Entry)`` pairs (a
    quorum of them, this leader's own included). Return what to propose in the new round at
    every slot from ``first`` up to the highest slot any promise reports: ``{slot: Value}``,
    ``NOOP`` where nobody reports a value. (Below ``first`` everything is decided here.)"""
    raise NotImplementedError("recover")
