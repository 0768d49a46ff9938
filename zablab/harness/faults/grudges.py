"""Partition shapes as grudges (node -> nodes it no longer hears), as Jepsen's nemesis builds them."""

from __future__ import annotations

import random
from collections.abc import Sequence

import networkx as nx

from zablab.harness.backends.base import Grudge

SHAPES = ("one", "minority", "halves", "majorities-ring", "bridge", "leader")


def complete(parts: Sequence[Sequence[str]]) -> Grudge:
    """Each part hears only itself."""
    g: Grudge = {}
    for p in parts:
        others = {n for q in parts if q is not p for n in q}
        for n in p:
            g[n] = set(others)
    return g


def one(nodes: Sequence[str], rng: random.Random, target: str | None = None) -> Grudge:
    x = target or rng.choice(list(nodes))
    return complete([[x], [n for n in nodes if n != x]])


def halves(nodes: Sequence[str], rng: random.Random) -> Grudge:
    ns = list(nodes)
    rng.shuffle(ns)
    k = len(ns) // 2
    return complete([ns[:k], ns[k:]])


def minority(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """A random minority (1 .. (n-1)/2 nodes) cut off from the rest."""
    ns = list(nodes)
    rng.shuffle(ns)
    k = rng.randint(1, max(1, (len(ns) - 1) // 2))
    return complete([ns[:k], ns[k:]])


def majorities_ring(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Every node sees a majority, but no two nodes see the same one (Jepsen's ring)."""
    ns = list(nodes)
    rng.shuffle(ns)
    n = len(ns)
    m = n // 2 + 1
    g: Grudge = {}
    for i, x in enumerate(ns):
        lo = i - (m - 1) // 2
        seen = {ns[(lo + j) % n] for j in range(m)}
        g[x] = set(ns) - seen
    return g


def bridge(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Two halves that share one node, which hears everyone."""
    ns = list(nodes)
    rng.shuffle(ns)
    k = len(ns) // 2
    a, b, x = ns[:k], ns[k + 1 :], ns[k]
    g = complete([a, b])
    g[x] = set()
    return g


def build(
    shape: str, nodes: Sequence[str], rng: random.Random, leader: str | None = None
) -> Grudge:
    if shape == "one":
        return one(nodes, rng)
    if shape == "minority":
        return minority(nodes, rng)
    if shape == "halves":
        return halves(nodes, rng)
    if shape == "majorities-ring":
        return majorities_ring(nodes, rng)
    if shape == "bridge":
        return bridge(nodes, rng)
    if shape == "leader":
        return one(nodes, rng, target=leader)
    raise ValueError(shape)


def describe(g: Grudge) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in sorted(g.items()) if v}


def links(g: Grudge, nodes: Sequence[str]) -> nx.Graph:
    """The links that still carry traffic both ways (a TCP connection needs both)."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(
        (a, b)
        for i, a in enumerate(nodes)
        for b in nodes[i + 1 :]
        if b not in g.get(a, ()) and a not in g.get(b, ())
    )
    return graph


def sides(g: Grudge, nodes: Sequence[str]) -> list[list[str]]:
    """The groups of nodes that can still reach each other, largest first."""
    comps = nx.connected_components(links(g, nodes))
    return sorted((sorted(c) for c in comps), key=lambda c: (-len(c), c))


def has_quorum(g: Grudge, nodes: Sequence[str]) -> bool:
    """Whether some node hears, and is heard by, a majority (itself included): only then can a
    leader gather a quorum, so only then may the cluster stay available during the partition.
    A connected majority is not enough (a bridge's two halves reach each other only through
    the bridge node, which is that leader)."""
    graph = links(g, nodes)
    return any(graph.degree(n) + 1 > len(nodes) // 2 for n in nodes)


def summary(g: Grudge, nodes: Sequence[str]) -> str:
    """`n1 n2 | n3 n4 n5`, and whether a quorum can form, for the progress line."""
    text = " | ".join(" ".join(side) for side in sides(g, nodes))
    return text if has_quorum(g, nodes) else f"{text} (no node reaches a majority)"
