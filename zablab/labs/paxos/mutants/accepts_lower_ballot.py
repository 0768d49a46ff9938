"""Mutant: the acceptor takes an Accept whatever its round, so a deposed leader still gets
values accepted after a newer leader's phase 1 read the acceptors."""

from __future__ import annotations

from zablab.labs.paxos.reference.paxos import on_prepare, recover
from zablab.node.paxos.acceptor import AcceptorState, AfterSync, Ballot, Value
from zablab.node.paxos.messages import Accepted, Entry

EXPECTED_FAILURE = "accept.rejects_lower_ballot"
__all__ = ["on_accept", "on_prepare", "recover"]


def on_accept(acc: AcceptorState, ballot: Ballot, slot: int, value: Value) -> AfterSync:
    acc.promise(ballot)
    record = acc.accept(slot, Entry(ballot.round, value.zxid, value.payload))
    return AfterSync(record, Accepted(ballot.round, slot))
