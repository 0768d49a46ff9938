"""What the bug hunt hides: the pool of bugs, the secret's draw from it, the students' tokens.

The pool is read from the bug registry (zablab/bugs.py), not listed here, so every bug added
there that the simulator finds by itself joins the hunt. The draw is a function of one seed
(derived from the course secret by the engine, shared by every hunt test through its
``seed_key``), so the tests grading the parts of one mystery agree on its bug, and the
tokens staff hand out switch on exactly the bugs the grader replays against.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from zablab.bugs import BUGS, Layer
from zablab.labs.engine import derive_seed
from zablab.sim.mystery import encode

PRACTICE = "commit-without-quorum"  # named in the handout; never drawn
MYSTERIES = ("mystery-a", "mystery-b")  # one hidden bug each, distinct
SEED_KEY = "hunt"  # the hidden tests' seed key: one draw per course


def pool() -> list[str]:
    """The ZAB replica's bugs that the simulator itself catches (its checker is ``sim`` and
    the registry gives a bound within which runs find it), but the practice bug."""
    return sorted(
        b.name
        for b in BUGS.values()
        if b.layer is Layer.ZAB and b.checker == "sim" and b.seeds > 0 and b.name != PRACTICE
    )


def draw(seed: int) -> dict[str, tuple[str, ...]]:
    """The bugs each mystery switches on, for the draw ``seed``."""
    bugs = pool()
    if len(bugs) < len(MYSTERIES):
        raise ValueError(f"the bug hunt needs {len(MYSTERIES)} bugs in its pool, has {bugs}")
    chosen = random.Random(seed).sample(bugs, len(MYSTERIES))
    return {label: (bug,) for label, bug in zip(MYSTERIES, chosen, strict=True)}


def course_seed(secret: str) -> int:
    """The draw of a course (what the engine gives the hidden tests)."""
    return derive_seed(secret.encode(), SEED_KEY, 0)


def tokens(seed: int) -> dict[str, str]:
    """The mystery tokens of a draw: what a student types for ``--bug``."""
    nonce = hashlib.sha256(f"bughunt-{seed}".encode()).digest()
    return {label: encode(bugs, nonce + label.encode()) for label, bugs in draw(seed).items()}


def notice(secret: str) -> str:
    """What staff post for the students of the course with this secret."""
    lines = ["bughunt: each token switches on one hidden bug (zablab sim --bug TOKEN ...)"]
    lines += [f"  {label}: {tok}" for label, tok in tokens(course_seed(secret)).items()]
    return "\n".join(lines)


def reference_submission(directory: Path, secret: str) -> None:
    """What the reference hunter submits for the course with this secret."""
    from .reference.hunter import hunt_all

    bugs = {"practice": PRACTICE, **tokens(course_seed(secret))}
    directory.mkdir(parents=True, exist_ok=True)
    hunt_all(directory, bugs)
