"""A bug hunter: for each bug (a name or a mystery token), find a schedule that breaks a safety
property with the bug on and none on the clean replica, shrink it, save it as a trace, and
write answers.toml naming each trace and the property it breaks.

    python hunter.py practice=commit-without-quorum mystery-a=mystery:... mystery-b=mystery:...

It hunts in three stages, cheapest first, until one yields a schedule that counts: the bounded
search (dfs walks from the boot, a fixed number of states), the random runs of the simulator
(a seed bound), then the search again with new walks until the time budget is spent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from zablab.sim import SimConfig, Simulation
from zablab.sim.checks import is_liveness
from zablab.sim.search import Bounds, search
from zablab.sim.shrink import properties, shrink
from zablab.sim.stepper import replay
from zablab.sim.tracefile import TraceFile

Steps = list[dict[str, Any]]
FIRST_SEARCH_STATES = 8_000  # finds the bugs that need few steps in seconds
RANDOM_SEEDS = 200  # random runs: cheap (a few ms each), and they partition, which dfs cannot
BUDGET_S = 240.0  # per bug


@dataclass(frozen=True)
class Found:
    trace: Path
    property: str
    how: str  # which stage found it
    steps: int
    seconds: float


def fixed_stages(cfg: SimConfig, deadline: float) -> Iterator[tuple[str, Steps, list[str]]]:
    """The bounded search, then the random runs: failing schedules as (how found, steps,
    violations)."""
    bounds = Bounds(max_depth=70, max_restarts=2, max_states=FIRST_SEARCH_STATES)
    res = search(cfg, "dfs", replace(bounds, time_limit=max(1.0, deadline - time.monotonic())))
    if res.violations:
        yield "search dfs seed 0", res.steps, res.violations
    for seed in range(RANDOM_SEEDS):
        if time.monotonic() > deadline:
            return
        sim = Simulation(seed, cfg)
        sim.record = True
        r = sim.run()
        if not r.ok:
            yield f"random run seed {seed}", sim.steps, r.violations


def candidates(cfg: SimConfig, deadline: float) -> Iterator[tuple[str, Steps, list[str]]]:
    """Failing schedules, cheapest stage first; last, new search walks until the deadline."""
    yield from fixed_stages(cfg, deadline)
    bounds = Bounds(max_depth=70, max_restarts=2)
    seed = 1
    while time.monotonic() < deadline:
        left = deadline - time.monotonic()
        res = search(cfg, "dfs", replace(bounds, time_limit=min(60.0, left)), seed=seed)
        if res.violations:
            yield f"search dfs seed {seed}", res.steps, res.violations
        seed += 1


def counts(cfg: SimConfig, steps: Steps) -> bool:
    """What the grader asks: the schedule breaks a property with the bug, none without."""
    _, bad = replay(cfg, steps, safety_only=True)
    _, clean = replay(replace(cfg, bugs=()), steps, safety_only=True)
    return bool(bad.violations) and not clean.violations


def hunt(bug: str, out: Path, budget_s: float = BUDGET_S) -> Found | None:
    """Hunt ``bug``; save the first schedule that counts, shrunk, to ``out``."""
    start = time.monotonic()
    cfg = SimConfig(bugs=(bug,))
    for how, steps, violations in candidates(cfg, start + budget_s):
        _, as_safety = replay(cfg, steps, safety_only=True)
        shown = properties(as_safety.violations)
        for prop in [p for p in properties(violations) if not is_liveness(p)]:
            if prop not in shown:
                continue
            small = shrink(cfg, steps, prop, time_limit=20.0)
            best = small.steps if small is not None else steps
            if not counts(cfg, best):
                continue
            _, r = replay(cfg, best, safety_only=True)
            TraceFile(cfg, best, "safety", how, r.trace_hash, r.violations).save(out)
            return Found(out, prop, how, len(best), time.monotonic() - start)
    return None


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
        if f is None:
            print(f"{label}: nothing found within {BUDGET_S:g} s")
        else:
            print(
                f"{label}: {f.trace.name} breaks {f.property} ({f.steps} steps; found by "
                f"{f.how} in {f.seconds:.1f} s)",
                flush=True,
            )
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
