"""Mutant: Accepted leaves as soon as the value is in the log's buffer, before the sync; a
crash then loses a value the leader counted towards a quorum."""

from __future__ import annotations

from zablab.labs.paxos.reference.paxos import on_prepare, recover
from zablab.node.paxos.acceptor import AcceptorState, Ballot, Value
from zablab.node.paxos.messages import Accepted, Entry, Nack

EXPECTED_FAILURE = "accept.durable_before_reply"
__all__ = ["on_accept", "on_prepare", "recover"]


def on_accept(acc: AcceptorState, ballot: Ballot, slot: int, value: Value) -> Accepted | Nack:
    if ballot.round < acc.promised.round:
        return Nack(acc.promised.round)
    acc.promise(ballot)
    acc.accept(slot, Entry(ballot.round, value.zxid, value.payload))
    return Accepted(ballot.round, slot)
