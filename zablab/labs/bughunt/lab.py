"""The bughunt lab's parts, tests and points."""

from __future__ import annotations

from zablab.labs.engine import Lab, Part, Test

from . import hidden as h
from . import tests as t
from .pool import SEED_KEY, notice, reference_submission

PARTS = (
    Part("practice", "a named bug: commit-without-quorum"),
    Part("hunt", "two mysteries: bugs the course's token switches on, unnamed"),
)

# fmt: off
TESTS = (
    Test("practice.trace", "practice", 2, t.practice_trace, timeout=30),
    Test("practice.property", "practice", 1, t.practice_property, timeout=30),
    Test("hunt.ready", "hunt", 0, t.hunt_ready, timeout=60),
    Test("mystery-a.trace", "hunt", 4, h.mystery_a_trace, hidden=True, seed_key=SEED_KEY, timeout=30),
    Test("mystery-a.property", "hunt", 2, h.mystery_a_property, hidden=True, seed_key=SEED_KEY, timeout=30),
    Test("mystery-b.trace", "hunt", 4, h.mystery_b_trace, hidden=True, seed_key=SEED_KEY, timeout=30),
    Test("mystery-b.property", "hunt", 2, h.mystery_b_property, hidden=True, seed_key=SEED_KEY, timeout=30),
)
# fmt: on

LAB = Lab(
    name="bughunt",
    title="Bug hunt: find the hidden bug by search",
    package="zablab.labs.bughunt",
    parts=PARTS,
    tests=TESTS,
    student_files=("hunter.py",),
    given_points=0,
    summary="Find a schedule that breaks ZAB with a hidden bug on, and name the property.",
    notice=notice,
    reference_submission=reference_submission,
)
