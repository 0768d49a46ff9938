"""Partition shapes."""

from __future__ import annotations

import random

import pytest

from zablab.harness.faults import grudges

NODES = ["n1", "n2", "n3", "n4", "n5"]


def hears(g, a):
    return set(NODES) - g.get(a, set())


@pytest.mark.parametrize("seed", range(5))
def test_majorities_ring_every_node_sees_a_distinct_majority(seed):
    g = grudges.majorities_ring(NODES, random.Random(seed))
    views = [frozenset(hears(g, n)) for n in NODES]
    assert all(len(v) == 3 for v in views)
    assert len(set(views)) == 5


def test_halves_and_minority_split_into_two_components():
    g = grudges.halves(NODES, random.Random(1))
    small = [n for n in NODES if len(hears(g, n)) == 2]
    assert len(small) == 2
    m = grudges.minority(NODES, random.Random(2))
    sizes = sorted(len(hears(m, n)) for n in NODES)
    assert sizes[0] <= 2 and sizes[-1] >= 3


def test_bridge_node_hears_everyone_and_halves_do_not_hear_each_other():
    g = grudges.bridge(NODES, random.Random(3))
    bridge = [n for n in NODES if not g[n]]
    assert len(bridge) == 1
    others = [n for n in NODES if n != bridge[0]]
    assert all(len(hears(g, n)) == 3 for n in others)


def test_leader_shape_isolates_the_leader():
    g = grudges.build("leader", NODES, random.Random(0), leader="n4")
    assert g["n4"] == {"n1", "n2", "n3", "n5"}
    assert g["n1"] == {"n4"}


def test_sides_and_quorum_of_each_shape():
    rng = random.Random(3)
    halves = grudges.halves(NODES, rng)
    sides = grudges.sides(halves, NODES)
    assert [len(s) for s in sides] == [3, 2]
    assert grudges.has_quorum(halves, NODES)  # the three-node side can elect
    # a 2-2 split of four nodes: no side holds a majority, so the cluster must stall
    four = NODES[:4]
    split = grudges.complete([four[:2], four[2:]])
    assert not grudges.has_quorum(split, four)
    assert "no node reaches a majority" in grudges.summary(split, four)
    # the ring is one connected piece, yet every node hears a majority of its own
    ring = grudges.majorities_ring(NODES, rng)
    assert len(grudges.sides(ring, NODES)) == 1 and grudges.has_quorum(ring, NODES)
    # a bridge: the halves reach each other only through the bridge node, which can lead
    bridge = grudges.bridge(NODES, rng)
    assert len(grudges.sides(bridge, NODES)) == 1 and grudges.has_quorum(bridge, NODES)


def test_a_one_way_cut_breaks_the_link():
    g = {"n1": {"n2"}}  # n1 no longer hears n2: no TCP connection between them survives
    assert grudges.sides(g, ["n1", "n2"]) == [["n1"], ["n2"]]
