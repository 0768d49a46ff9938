"""Mutant: the new leader ignores what phase 1 reported and proposes nothing again, so its new
writes take slots whose values may already be chosen."""

from __future__ import annotations

from collections.abc import Iterable

from zablab.labs.paxos.reference.paxos import on_accept, on_prepare
from zablab.node.paxos.acceptor import Value
from zablab.node.paxos.messages import Entry

EXPECTED_FAILURE = "recover.highest_round"
__all__ = ["on_accept", "on_prepare", "recover"]


def recover(promises: Iterable[list[tuple[int, Entry]]], first: int) -> dict[int, Value]:
    return {}
