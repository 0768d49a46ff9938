"""Your bug hunter (optional: you may hunt by hand with `zablab sim` and write answers.toml
yourself; the grader reads only answers.toml and the traces it names).

For each bug (a name or a mystery token), find a schedule that breaks a safety property with
the bug on and none on the clean replica, shrink it, save it as a trace, and write
answers.toml naming each trace and the property it breaks:

    python hunter.py practice=commit-without-quorum mystery-a=mystery:... mystery-b=mystery:...
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zablab.sim import SimConfig  # noqa: F401 - SimConfig(bugs=(bug,)): the hunted replica
from zablab.sim.search import Bounds, search  # noqa: F401 - the bounded search (dfs walks)
from zablab.sim.shrink import properties, shrink  # noqa: F401 - which properties; ddmin
from zablab.sim.stepper import replay  # noqa: F401 - replay(cfg, steps, safety_only=True)
from zablab.sim.tracefile import TraceFile  # noqa: F401 - TraceFile(cfg, steps, "safety", ...)

Steps = list[dict[str, Any]]


@dataclass(frozen=True)
class Found:
    trace: Path
    property: str
    how: str  # what found it, e.g. "search dfs seed 0"
    steps: int
    seconds: float


def counts(cfg: SimConfig, steps: Steps) -> bool:
    """Whether the grader would count the schedule: it breaks a property with cfg's bugs on
    (replayed with safety checks) and none with them off (dataclasses.replace(cfg, bugs=()))."""
    raise NotImplementedError


def hunt(bug: str, out: Path, budget_s: float = 240.0) -> Found | None:
    """Search for a schedule that counts with ``bug`` on (a name or a mystery token), shrink it
    to the property it breaks, save it to ``out``; None if nothing was found in the budget."""
    raise NotImplementedError


def write_answers(path: Path, found: dict[str, Found | None]) -> None:
    lines = []
    for label, f in found.items():
        trace = f.trace.name if f else ""
        prop = f.property if f else ""
        lines += [f"[{label}]", f'trace = "{trace}"', f'property = "{prop}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def hunt_all(directory: Path, bugs: dict[str, str]) -> dict[str, Found | None]:
    """Hunt each ``label: bug`` into ``directory`` (LABEL.json) and write its answers.toml."""
    found: dict[str, Found | None] = {}
    for label, bug in bugs.items():
        f = found[label] = hunt(bug, directory / f"{label}.json")
        print(f"{label}: {f}", flush=True)
    write_answers(directory / "answers.toml", found)
    return found


def main(argv: list[str]) -> int:
    if not argv or any("=" not in a for a in argv):
        print("usage: python hunter.py LABEL=BUG ... (e.g. practice=commit-without-quorum)")
        return 255
    found = hunt_all(Path.cwd(), dict(a.split("=", 1) for a in argv))
    return 0 if all(found.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
