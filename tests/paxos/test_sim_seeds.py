"""Random simulator seeds on Multi-Paxos (mode deltas): agreement, integrity, no lost
acknowledged write and convergence hold; primary order may break, and does.

Breaks of primary order show up as the ZAB checker's primary-order properties, as its
total-order complaint that zxids go backwards along the delivered order (while every replica
delivers the same order), and as the simulated application noticing the same zxid step back.
"""

from __future__ import annotations

import pytest

from zablab.sim.cluster import SimConfig, simulate

PRIMARY_ORDER = ("local-primary-order:", "global-primary-order:", "primary-integrity:")


def primary_order_only(violation: str) -> bool:
    """Whether a violation is a consequence of broken primary order, which Paxos allows."""
    if violation.startswith(PRIMARY_ORDER):
        return True
    if violation.startswith("total-order:"):
        parts = violation.removeprefix("total-order:").split(";")
        return all(" delivered zxid " in p and " after zxid " in p for p in parts)
    if " app: " in violation:
        return all(" delivered after " in p for p in violation.split(" app: ")[1:])
    return False


def forbidden(seeds: range, nodes: int) -> tuple[list[str], list[int], int]:
    """Violations Paxos must not show, the seeds that broke primary order, SNAP catch-ups."""
    bad: list[str] = []
    broken_order: list[int] = []
    snaps = 0
    for seed in seeds:
        r = simulate(seed, SimConfig(protocol="paxos", nodes=nodes))
        snaps += sum(e["event"] == "sync" and e["mode"] == "SNAP" for e in r.trace)
        bad += [f"seed {seed}: {v}" for v in r.violations if not primary_order_only(v)]
        if r.violations:
            broken_order.append(seed)
    return bad, broken_order, snaps


def test_the_filter_keeps_safety_violations():
    assert primary_order_only("local-primary-order: node 1 delivered x without y")
    assert primary_order_only("total-order: node 1 delivered zxid 0x1 after zxid 0x2")
    assert primary_order_only("node 2 app: txn 0x1 delivered after 0x2")
    assert not primary_order_only("agreement: node 1 and node 2 differ at pos 3")
    assert not primary_order_only("integrity: node 1 delivered 0xabc never broadcast")
    assert not primary_order_only("total-order: node 1 delivered a twice")
    assert not primary_order_only("node 2 app: txn 0x1 delivered at pos 4 onto 3")
    assert not primary_order_only("lost write: w1@1 was acknowledged but no replica has it")
    assert not primary_order_only("no convergence after the heal: roles {}")


def test_sixty_seeds_on_three_nodes_keep_paxos_safety():
    bad, _, snaps = forbidden(range(60), 3)
    assert not bad, "\n".join(bad[:10])
    assert snaps, "no lagging replica was caught up by a snapshot"


@pytest.mark.slow
@pytest.mark.parametrize("nodes", [3, 5])
def test_five_hundred_seeds_keep_paxos_safety_and_some_break_primary_order(nodes):
    bad, broken_order, _ = forbidden(range(500), nodes)
    assert not bad, "\n".join(bad[:10])
    # pipelining lets a later slot survive an earlier one's loss: the lesson of the lab
    assert broken_order, "no seed broke primary order; is the pipelining window on?"
