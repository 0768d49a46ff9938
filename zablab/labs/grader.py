"""Which tests run on which seeds, and the command that replays a failing case.

`zablab lab test` runs the visible tests on their fixed seeds; `zablab lab grade` adds the same
seeded tests on seeds derived from the course secret and the hidden tests.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zablab.errors import UserError

from .engine import Lab, Test, hidden_seeds, visible_seeds
from .runner import Outcome, run_test

SECRET_ENV = "ZABLAB_LAB_SECRET"


@dataclass(frozen=True)
class Planned:
    test: Test
    seeds: list[int]
    hidden: bool  # graded on secret seeds, or a hidden test: output shown after the due date
    points: float

    @property
    def name(self) -> str:
        return f"{self.test.name} (secret seeds)" if self.hidden and not self.test.hidden \
            else self.test.name


def plan_visible(lab: Lab, part: str | None = None, case: str | None = None,
                 seed: int | None = None) -> list[Planned]:
    if part is not None and part not in {p.name for p in lab.parts}:
        raise UserError(
            f"lab {lab.name} has no part {part!r}; its parts: "
            + ", ".join(p.name for p in lab.parts) + "."
        )
    if case is not None:
        try:
            t = lab.test(case)
        except KeyError:
            raise UserError(
                f"lab {lab.name} has no test {case!r}; `zablab lab list` shows its tests."
            ) from None
        return [Planned(t, [seed] if seed is not None else visible_seeds(t), t.hidden, t.points)]
    if seed is not None:
        raise UserError("--seed replays one case: give --case NAME with it.")
    return [Planned(t, visible_seeds(t), False, t.points) for t in lab.visible(part)]


def plan_grade(lab: Lab, secret: str) -> list[Planned]:
    out = [Planned(t, visible_seeds(t), False, t.points) for t in lab.tests if not t.hidden]
    for t in lab.tests:
        if t.hidden:
            out.append(Planned(t, hidden_seeds(t, secret), True, t.points))
        elif t.hidden_points:
            out.append(Planned(t, hidden_seeds(t, secret), True, t.hidden_points))
    return out


def secret_from(option: str | None) -> str:
    secret = option or os.environ.get(SECRET_ENV, "")
    if not secret:
        raise UserError(
            f"no secret for the hidden seeds: pass --secret S or set {SECRET_ENV} "
            "(keep it out of what students see)."
        )
    return secret


def replay_command(lab: Lab, directory: Path, test: Test, seed: int | None) -> str:
    cmd = f"zablab lab test {lab.name} --dir {shlex.quote(str(directory))} --case {test.name}"
    return cmd + (f" --seed {seed}" if seed is not None else "")


def describe(lab: Lab, directory: Path, outcome: Outcome) -> str:
    """What a student reads for a failed test: why, what the test checks, how to replay."""
    t = outcome.test
    lines = [outcome.output.rstrip()]
    if t.explanation:
        lines.append(f"what this test checks: {t.explanation}")
    seed = outcome.seed if t.seeded else None
    if seed is not None:
        lines.append(f"seed: {seed}")
    lines.append(f"replay: {replay_command(lab, directory, t, seed)}")
    return "\n".join(lines)


def run_plan(
    lab: Lab,
    directory: Path,
    plan: list[Planned],
    progress: Callable[[int, int, Planned, Outcome], None] | None = None,
) -> list[tuple[Planned, Outcome]]:
    results = []
    deadline = time.monotonic() + lab.time_budget
    for i, p in enumerate(plan, 1):
        if time.monotonic() + p.test.timeout > deadline:
            outcome = Outcome(p.test, False, f"not run: the lab's grading time ({lab.time_budget:g} s) "
                              "ran out (earlier tests timed out)", None, 0.0, 0)
        else:
            outcome = run_test(lab, p.test, directory, p.seeds)
        results.append((p, outcome))
        if progress is not None:
            progress(i, len(plan), p, outcome)
    return results
