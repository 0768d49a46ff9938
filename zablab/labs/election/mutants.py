"""Known wrong solutions: the reference with one mistake each, and the test that must catch it.

Each mutant is a list of (reference text, replacement) edits, so it always tracks the
reference; `mutant_source` fails loudly if an edit no longer applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path(__file__).parent / "reference" / "election.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    why: str
    must_fail: str  # the test (its name in the lab) that must catch it
    edits: tuple[tuple[str, str], ...]


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "watch-smallest",
        "every candidate watches the smallest node, not its predecessor: the herd effect",
        "smallest.no_herd",
        (("predecessor = children[i - 1]", "predecessor = children[0]"),),
    ),
    Mutant(
        "no-fencing",
        "the primary writes without its token: a resumed zombie's write is accepted",
        "failover.zombie_is_fenced",
        (
            (
                'self.store.write(f"{self.name}:{self.writes}", token)',
                'self.store.write(f"{self.name}:{self.writes}", None)',
            ),
        ),
    ),
    Mutant(
        "ignore-suspended",
        "the primary ignores SUSPENDED and LOST and keeps working while cut off",
        "failover.partition_stops_primary",
        (
            (
                "        else:\n"
                "            self._connected.clear()\n"
                "            if state == KazooState.LOST:\n"
                "                self._lost.set()\n",
                "        else:\n            pass  # carry on: we led a moment ago\n",
            ),
        ),
    ),
    Mutant(
        "no-rerace",
        "scheme 2 losers race once and never again when the leader's node goes",
        "unique.rerace",
        (
            (
                "            try:\n                self.zk.create(self.leader_path,",
                "            try:\n"
                "                if getattr(self, '_raced', False):\n"
                "                    raise NodeExistsError()\n"
                "                self._raced = True\n"
                "                self.zk.create(self.leader_path,",
            ),
            ("continue  # it went before our watch was set: race again", "return False"),
        ),
    ),
)


def mutant_source(m: Mutant) -> str:
    text = REFERENCE.read_text()
    for old, new in m.edits:
        if text.count(old) != 1:
            raise ValueError(f"mutant {m.name}: {old!r} is not in the reference exactly once")
        text = text.replace(old, new)
    return text


def write_mutant(m: Mutant, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / "election.py"
    out.write_text(mutant_source(m))
    return out
