"""Every seeded bug in zablab, in one registry, and the one parser that turns names into switches.

A seeded bug is a deliberate defect a lab or a test switches on to show that a checker bites.
Each has a layer (the code that carries it), the checker that must catch it, a seed bound for
the bugs the simulator or the harness finds by search, and the historical ticket it reproduces.
Layers do not test strings: they receive a frozen dataclass of booleans (``ZabBugs``,
``ClientBugs``) built by ``parse_bugs``, so a misspelt switch is an AttributeError (and a mypy
error) at the line that reads it, never a bug silently left off. Every entry point
(``zablab node --bug``, zoo.cfg ``zablab.bugs``, ``zablab sim --bug``, ``zablab test --db-args``
and ``--client-bug``) parses names here, so an unknown name gives the same one-line error.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import ClassVar, Self

from zablab.errors import UserError


class Layer(StrEnum):
    ZAB = "zab"  # the ZAB replica (zablab/node/zab)
    PAXOS = "paxos"  # the Multi-Paxos replica
    SERVER = "server"  # the client-facing server, as a client sees it
    STORAGE = "storage"  # log and snapshots
    CLIENT = "client"  # the harness's client workers


@dataclass(frozen=True)
class SeededBug:
    name: str
    layer: Layer
    summary: str
    checker: str  # what catches it: "sim" (simulator + ZAB trace checker), "zookeeper", ...
    seeds: int  # caught within this many seeds (0: not found by search, e.g. a fixed program)
    ticket: str | None = None  # the historical bug it reproduces, if any

    def describe(self) -> str:
        return f"{self.summary} ({self.ticket})" if self.ticket else self.summary


BUGS: dict[str, SeededBug] = {
    b.name: b
    for b in (
        SeededBug(
            "ack-before-fsync",
            Layer.ZAB,
            "followers ACK (and the leader counts itself) before the log is synced",
            "sim",
            150,
        ),
        SeededBug(
            "diff-without-trunc",
            Layer.ZAB,
            "DIFF a diverged follower without the TRUNC it needs",
            "sim",
            150,
            ticket="ZOOKEEPER-1154",
        ),
        SeededBug(
            "commit-without-quorum",
            Layer.ZAB,
            "the leader commits on its own ACK, without waiting for a quorum",
            "sim",
            150,
        ),
        SeededBug(
            "election-ignores-zxid",
            Layer.ZAB,
            "votes compare (epoch, id) only and the leader skips the 'follower ahead' check "
            "in discovery",
            "sim",
            150,
        ),
        SeededBug(
            "lost-write",
            Layer.CLIENT,
            "the client acknowledges some writes without sending them",
            "linearizable",
            3,
        ),
        SeededBug(
            "stale-read",
            Layer.CLIENT,
            "the client answers some reads from an earlier answer",
            "zookeeper",
            3,
        ),
        SeededBug(
            "no-fencing",
            Layer.CLIENT,
            "an elected leader works on while cut off and writes without its fencing token "
            "(the zombie leader of CURATOR-696's class)",
            "election",
            3,
        ),
        # Test doubles of a server as a client sees it; tests/compat/test_differential.py runs
        # them beside Apache ZooKeeper (they are programs, not switches of zablab's server).
        SeededBug(
            "ignores-versions",
            Layer.SERVER,
            "setData and delete ignore the expected version",
            "differential",
            0,
        ),
        SeededBug(
            "drops-watches", Layer.SERVER, "exists() never leaves a watch behind", "differential", 0
        ),
        SeededBug(
            "swaps-owners",
            Layer.SERVER,
            "ephemeral nodes are reported as owned by the next session",
            "differential",
            0,
        ),
        SeededBug(
            "reorders-zxids",
            Layer.SERVER,
            "mzxid is reported older than czxid",
            "differential",
            0,
        ),
    )
}


def known(layers: Iterable[Layer] | None = None) -> list[str]:
    wanted = set(Layer if layers is None else layers)
    return sorted(n for n, b in BUGS.items() if b.layer in wanted)


def parse_bugs(names: Iterable[str], layers: Iterable[Layer] | None = None) -> frozenset[str]:
    """Bug names (repeats and comma lists allowed) checked against the registry, or against the
    bugs of ``layers``: an unknown name is one UserError line that lists the known ones."""
    allowed = known(layers)
    out = {n.strip() for name in names for n in name.split(",") if n.strip()}
    for name in sorted(out):
        if name not in allowed:
            raise UserError(
                f"unknown seeded bug {name!r}; known bugs: {', '.join(allowed)} "
                "(see zablab/bugs.py)."
            )
    return frozenset(out)


def bugs_in_args(args: str) -> frozenset[str]:
    """The ``--bug`` values inside a node's extra command line (``zablab test --db-args``),
    parsed as ``zablab node`` will, so a typo stops the harness before a cluster starts."""
    words = shlex.split(args)
    names: list[str] = []
    for i, w in enumerate(words):
        if w == "--bug":
            if i + 1 >= len(words):
                raise UserError("--db-args: --bug needs a bug name after it.")
            names.append(words[i + 1])
        elif w.startswith("--bug="):
            names.append(w.removeprefix("--bug="))
    return parse_bugs(names, NODE_LAYERS)


NODE_LAYERS = (Layer.ZAB, Layer.PAXOS)  # the layers a `zablab node` can switch bugs on in


@dataclass(frozen=True)
class _Switches:
    """A layer's bugs as booleans: field ``a_b`` is bug ``a-b`` of ``LAYER``."""

    LAYER: ClassVar[Layer]

    @classmethod
    def of(cls, names: Iterable[str]) -> Self:
        chosen = parse_bugs(names, [cls.LAYER])
        return cls(**{n.replace("-", "_"): True for n in chosen})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name.replace("_", "-") for f in fields(self) if getattr(self, f.name))


@dataclass(frozen=True)
class ZabBugs(_Switches):
    LAYER: ClassVar[Layer] = Layer.ZAB
    ack_before_fsync: bool = False
    diff_without_trunc: bool = False
    commit_without_quorum: bool = False
    election_ignores_zxid: bool = False


@dataclass(frozen=True)
class ClientBugs(_Switches):
    LAYER: ClassVar[Layer] = Layer.CLIENT
    lost_write: bool = False
    stale_read: bool = False
    no_fencing: bool = False


SWITCHES: tuple[type[_Switches], ...] = (ZabBugs, ClientBugs)
