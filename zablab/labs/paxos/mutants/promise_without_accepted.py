"""Mutant: the promise reports no accepted values, so a new leader cannot learn a value that
may already be chosen."""

from __future__ import annotations

from zablab.labs.paxos.reference.paxos import on_accept, recover
from zablab.node.paxos.acceptor import AcceptorState, Ballot, Promised
from zablab.node.paxos.messages import Nack

EXPECTED_FAILURE = "prepare.returns_accepted"
__all__ = ["on_accept", "on_prepare", "recover"]


def on_prepare(acc: AcceptorState, ballot: Ballot, from_slot: int) -> Promised | Nack:
    p = acc.promised
    if ballot.round < p.round or (ballot.round == p.round and ballot != p):
        return Nack(p.round)
    acc.promise(ballot)
    return Promised(ballot.round, [])
