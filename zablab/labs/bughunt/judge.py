"""How a submitted trace is judged: replayed with the bug on (it must break a property) and on
the clean replica (it must not), and the property the student names must be one it breaks.

The replays are `zablab sim --replay FILE` and `zablab sim --replay FILE --without-bugs`
exactly (the trace's own config and checks, its bugs replaced by the ones graded), so a
student can reproduce every verdict. A trace that fails on the clean replica too shows no bug (e.g. a
schedule whose last steps break a liveness property any replica breaks), so it scores nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from zablab.checkers.zab import PROPERTIES
from zablab.errors import UserError
from zablab.labs.engine import SubmissionError, find_student_file
from zablab.sim.shrink import properties
from zablab.sim.stepper import replay
from zablab.sim.tracefile import TraceFile, load_trace

ANSWERS = "answers.toml"
# what `zablab sim --replay` prints before a violation's colon: the ZAB checker's properties,
# "lost write" (an established leader lacks an acknowledged write), "app" (a node's application
# saw a delivery out of order), and for whole runs "no convergence"
KNOWN = (*PROPERTIES, "lost write", "app", "no convergence")


def normal(prop: str) -> str:
    """A property name as compared: case, spaces, dashes and underscores do not matter."""
    return re.sub(r"[\s_-]+", "-", prop.strip().lower())


@dataclass(frozen=True)
class Answer:
    label: str  # the table in answers.toml: practice, mystery-a, ...
    trace: Path
    property: str


def read_answer(directory: Path, label: str) -> Answer:
    """The ``[label]`` table of the submission's answers.toml; the trace path is relative to
    that file and must stay inside the submission."""
    path = find_student_file(directory, ANSWERS)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SubmissionError(
            f"{ANSWERS} is not valid TOML ({e}); keep the handout's layout"
        ) from None
    table = doc.get(label)
    if not isinstance(table, dict):
        raise AssertionError(f"{ANSWERS} has no [{label}] table; copy it from the handout's")
    trace, prop = table.get("trace", ""), table.get("property", "")
    if not isinstance(trace, str) or not trace.strip():
        raise AssertionError(f'[{label}] in {ANSWERS} names no trace file (trace = "")')
    if not isinstance(prop, str):
        raise AssertionError(f'[{label}] property must be a string, e.g. property = "agreement"')
    root = path.parent.resolve()
    file = (root / trace.strip()).resolve()
    if not file.is_relative_to(directory.resolve()):
        raise AssertionError(f"[{label}] trace {trace!r} is outside the submission; submit it")
    if not file.is_file():
        raise AssertionError(
            f"[{label}] trace {trace!r} is not in the submission (looked for {file.name} next "
            f"to {ANSWERS}); submit the trace file with it"
        )
    return Answer(label, file, prop)


@dataclass(frozen=True)
class Judged:
    answer: Answer
    with_bug: list[str]  # violations with the graded bugs on
    clean: list[str]  # violations on the clean replica

    @property
    def counts(self) -> bool:
        return bool(self.with_bug) and not self.clean

    def explain_trace(self) -> str:
        """Why the trace does not count ("" if it does)."""
        name = self.answer.trace.name
        if not self.with_bug:
            return (
                f"[{self.answer.label}] {name} breaks no property with this bug on: replayed "
                "as zablab sim --replay does, every property held. Find a schedule that fails "
                f"(zablab sim --search dfs --bug TOKEN ...) and check it with zablab sim "
                f"--replay {name}"
            )
        if self.clean:
            return (
                f"[{self.answer.label}] {name} also fails on the clean replica, so it shows "
                f"no bug: {self.clean[0][:200]} "
                f"(check with zablab sim --replay {name} --without-bugs)"
            )
        return ""

    def explain_property(self) -> str:
        """Why the property named is wrong ("" if right)."""
        broken = properties(self.with_bug)
        if normal(self.answer.property) in {normal(p) for p in broken}:
            return ""
        named = self.answer.property.strip() or "nothing"
        hint = (
            ""
            if normal(named) in {normal(k) for k in KNOWN}
            else (f" ({named!r} is not a property the checks know; they are: {', '.join(KNOWN)})")
        )
        return (
            f"[{self.answer.label}] you named {named}{hint}, but {self.answer.trace.name} "
            f"breaks {', '.join(broken)} with this bug on (the part before the colon of each "
            "violation zablab sim --replay prints)"
        )


def judge(answer: Answer, bugs: tuple[str, ...]) -> Judged:
    """Replay the answer's trace with ``bugs`` on and on the clean replica."""
    try:
        tf = load_trace(answer.trace)
    except UserError as e:
        raise AssertionError(f"[{answer.label}] {e}") from None
    if tf.config.protocol != "zab":
        raise AssertionError(
            f"[{answer.label}] {answer.trace.name} runs the {tf.config.protocol} replica; the "
            "hunt is for bugs of the ZAB replica (drop --protocol)"
        )
    return Judged(answer, _violations(tf, bugs), _violations(tf, ()))


def _violations(tf: TraceFile, bugs: tuple[str, ...]) -> list[str]:
    try:
        cfg = replace(tf.config, bugs=bugs)
        _, r = replay(cfg, tf.steps, safety_only=tf.checks == "safety")
    except UserError as e:
        raise AssertionError(f"the trace cannot be replayed: {e}") from None
    return r.violations
