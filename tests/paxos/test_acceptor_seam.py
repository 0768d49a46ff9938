"""The acceptor seam: the replica runs whatever rules are plugged in, restores the reference
after the block, says clearly when rules return something it cannot act on, and two
independently written rule sets with the same behaviour give the same runs."""

from __future__ import annotations

import pytest

from zablab.labs.paxos.harness import Acceptor
from zablab.labs.paxos.reference import paxos as lab_reference
from zablab.node.paxos import acceptor
from zablab.node.paxos import messages as m
from zablab.node.paxos.acceptor import REFERENCE, RuleError, Rules, plugged
from zablab.node.replica import make_zxid
from zablab.sim.cluster import SimConfig, simulate


def test_plugged_rules_run_and_the_reference_comes_back_even_after_an_error() -> None:
    calls = []

    def spy(acc, ballot, from_slot):  # type: ignore[no-untyped-def]
        calls.append(ballot)
        return REFERENCE.on_prepare(acc, ballot, from_slot)

    with pytest.raises(KeyError), plugged(Rules(spy, REFERENCE.on_accept, REFERENCE.recover)):
        Acceptor().send(2, m.Prepare(3, 1))
        raise KeyError("boom")
    assert calls == [acceptor.Ballot(3, 2)]
    assert acceptor.active() is REFERENCE


def test_rules_returning_nonsense_are_named() -> None:
    bad = Rules(lambda *a: None, lambda *a: "yes", REFERENCE.recover)  # type: ignore[arg-type,return-value]
    with plugged(bad):
        a = Acceptor()
        with pytest.raises(RuleError, match="on_prepare returned None"):
            a.send(2, m.Prepare(3, 1))
        with pytest.raises(RuleError, match="on_accept returned 'yes'"):
            a.send(2, m.Accept(3, 1, make_zxid(3, 1), b"v"))


def test_a_recovery_that_leaves_a_hole_is_named() -> None:
    def holes(promises, first):  # type: ignore[no-untyped-def]
        return {s: v for s, v in REFERENCE.recover(promises, first).items() if v != acceptor.NOOP}

    with plugged(Rules(REFERENCE.on_prepare, REFERENCE.on_accept, holes)):
        a = Acceptor()
        a.send(2, m.Accept(1, 2, make_zxid(1, 2), b"b"))  # slot 1 is a hole
        a.sync()
        with pytest.raises(RuleError, match="recover gave slot 1 None"):
            for t in range(10):
                a.replica.on_tick(10_000 + t)
            a.send(2, m.Promise(a.replica.lead.round, b"", 0, 0, 0, 0, b""))


def test_an_accept_for_a_slot_decided_here_is_answered_at_once_and_keeps_the_value() -> None:
    a = Acceptor()
    a.send(2, m.Accept(1, 1, make_zxid(1, 1), b"a"))
    a.sync()
    a.send(2, m.Commit(1, 1))
    assert a.replica.delivered == 1
    out = a.send(2, m.Accept(2, 1, make_zxid(1, 1), b"a"))
    assert out == [(2, m.Accepted(2, 1))]
    assert a.replica.log[1] == m.Entry(1, make_zxid(1, 1), b"a")


def test_the_labs_reference_gives_the_seams_runs() -> None:
    """Two rule sets written apart (the replica's and the lab's reference) replay the same
    trace on the same seeds: the seam adds nothing of its own."""
    rules = Rules(lab_reference.on_prepare, lab_reference.on_accept, lab_reference.recover)
    cfg = SimConfig(protocol="paxos")
    base = [simulate(s, cfg).trace_hash for s in range(6)]
    with plugged(rules):
        assert [simulate(s, cfg).trace_hash for s in range(6)] == base
