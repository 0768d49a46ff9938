"""Shrinking a failing schedule by delta debugging (Zeller's ddmin) over its steps.

A candidate is any subsequence of the steps (a step whose choice is gone does nothing, see
stepper.py); it still fails if replaying it violates the SAME safety property as the original,
so shrinking never trades the bug it was given for another one. Before ddmin proper, the
schedule is cut after the first step at which the property shows (found by bisection), and
after each success the candidate is replaced by the steps that actually took effect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .checks import NO_CONVERGENCE
from .cluster import SimConfig
from .stepper import replay

Steps = list[dict[str, Any]]


def property_of(violation: str) -> str:
    """The property a violation line names: ``agreement``, ``lost write``, ``app``, ..."""
    if violation.startswith(NO_CONVERGENCE):
        return NO_CONVERGENCE
    head = violation.split(":", 1)[0]
    if head.startswith("node ") and head.endswith(" app"):
        return "app"
    return head


def properties(violations: list[str]) -> list[str]:
    out: list[str] = []
    for v in violations:
        p = property_of(v)
        if p not in out:
            out.append(p)
    return out


@dataclass
class Shrunk:
    steps: Steps
    prop: str
    tries: int
    seconds: float
    complete: bool  # ddmin finished (1-minimal), rather than stopped at the time limit


class _Oracle:
    def __init__(self, cfg: SimConfig, prop: str) -> None:
        self.cfg, self.prop, self.tries = cfg, prop, 0

    def __call__(self, steps: Steps) -> Steps | None:
        """The effective steps of ``steps`` if they still violate the property, else None."""
        self.tries += 1
        st, r = replay(self.cfg, steps, safety_only=True)
        return st.steps if self.prop in properties(r.violations) else None


def shrink(cfg: SimConfig, steps: Steps, prop: str, *, time_limit: float = 60.0) -> Shrunk | None:
    """A short schedule failing ``prop`` (None if ``steps`` themselves do not, as safety)."""
    start = time.perf_counter()
    fails = _Oracle(cfg, prop)
    best = fails(steps)
    if best is None:
        return None
    lo, hi = 0, len(best)  # fails(best[:hi]); find the shortest failing prefix
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if fails(best[:mid]) is not None:
            hi = mid
        else:
            lo = mid
    best = fails(best[:hi]) or best
    n = 2
    complete = False
    while time.perf_counter() - start < time_limit:
        if len(best) < 2:
            complete = True
            break
        size = len(best) / n
        chunks = [(round(i * size), round((i + 1) * size)) for i in range(n)]
        for a, b in chunks:
            if time.perf_counter() - start >= time_limit:
                break
            cand = fails(best[:a] + best[b:])
            if cand is not None:
                best = cand
                n = max(n - 1, 2)
                break
        else:
            if n >= len(best):
                complete = True
                break
            n = min(2 * n, len(best))
    return Shrunk(best, prop, fails.tries, time.perf_counter() - start, complete)
