"""The bughunt lab's graded hunt: each mystery's trace replayed against the bug the course's
secret drew for it. The draw is the hidden case's seed (shared by these tests through their
seed key, so the trace and the property of one mystery are judged against the same bug);
results show after the due date, with the bug's name.
"""

from __future__ import annotations

from zablab.labs.engine import Case

from .judge import Judged, judge, read_answer
from .pool import draw


def _judged(case: Case, label: str) -> tuple[Judged, str]:
    bugs = draw(case.seed)[label]
    named = f"{label} was {', '.join(bugs)}"
    return judge(read_answer(case.dir, label), bugs), named


def _trace(case: Case, label: str) -> None:
    j, named = _judged(case, label)
    assert j.counts, f"{j.explain_trace()}\n({named})"


def _property(case: Case, label: str) -> None:
    j, named = _judged(case, label)
    assert j.counts, (
        f"{j.explain_trace()}\n({named}; the property of a trace that shows no bug earns nothing)"
    )
    assert not j.explain_property(), f"{j.explain_property()}\n({named})"


def mystery_a_trace(case: Case) -> None:
    """[mystery-a] names a trace that breaks a property with mystery-a's bug on and passes on
    the clean replica."""
    _trace(case, "mystery-a")


def mystery_a_property(case: Case) -> None:
    """[mystery-a] names a property its trace breaks with mystery-a's bug on (and the trace
    counts)."""
    _property(case, "mystery-a")


def mystery_b_trace(case: Case) -> None:
    """[mystery-b] names a trace that breaks a property with mystery-b's bug on and passes on
    the clean replica."""
    _trace(case, "mystery-b")


def mystery_b_property(case: Case) -> None:
    """[mystery-b] names a property its trace breaks with mystery-b's bug on (and the trace
    counts)."""
    _property(case, "mystery-b")
