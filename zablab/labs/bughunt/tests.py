"""The visible tests of the bughunt lab. `zablab lab test bughunt --dir DIR` runs them on
DIR/answers.toml and the traces it names; this file is a copy for you to read (the grader uses
its own).

A trace counts for a bug when its replay with the bug on breaks a property and its replay on
the clean replica breaks none: exactly what `zablab sim --replay FILE` and
`zablab sim --replay FILE --without-bugs` print. The mysteries are graded the same way,
against the bugs the course's secret drew (hidden.py); here they are only checked for being
ready.
"""

from __future__ import annotations

from zablab.errors import UserError
from zablab.labs.engine import Case
from zablab.sim.mystery import is_token
from zablab.sim.tracefile import load_trace

from .judge import KNOWN, Judged, judge, normal, read_answer
from .pool import MYSTERIES, PRACTICE


def practice(case: Case) -> Judged:
    return judge(read_answer(case.dir, "practice"), (PRACTICE,))


def practice_trace(case: Case) -> None:
    """[practice] names a trace that breaks a property with commit-without-quorum on and
    passes on the clean replica."""
    j = practice(case)
    assert j.counts, j.explain_trace()


def practice_property(case: Case) -> None:
    """[practice] names the property its trace breaks with commit-without-quorum on (and the
    trace counts: a property of a trace that shows no bug earns nothing)."""
    j = practice(case)
    assert j.counts, j.explain_trace()
    assert not j.explain_property(), j.explain_property()


def hunt_ready(case: Case) -> None:
    """Each mystery's answer is ready to grade: its trace was made with a mystery token, fails
    with that token and passes on the clean replica, and it names a property the checks know.
    Worth nothing: it cannot tell you whether the token was the course's."""
    for label in MYSTERIES:
        answer = read_answer(case.dir, label)
        try:
            bugs = load_trace(answer.trace).config.bugs
        except UserError as e:
            raise AssertionError(f"[{label}] {e}") from None
        assert bugs and all(is_token(b) for b in bugs), (
            f"[{label}] {answer.trace.name} was made with bugs {list(bugs)}, not with the "
            f"{label} token your course gave you (zablab sim --bug mystery:... --search dfs)"
        )
        j = judge(answer, bugs)
        assert j.counts, j.explain_trace()
        assert normal(answer.property) in {normal(k) for k in KNOWN}, (
            f"[{label}] property {answer.property!r} is not one the checks know: "
            + ", ".join(KNOWN)
        )
        assert not j.explain_property(), j.explain_property()
