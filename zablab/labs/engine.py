"""What a lab is: parts, tests with points, the student's files, and where its handout lives.

A lab package builds one `Lab` value; the engine (runner, grader, workspace, autograder) only
ever reads that value, so adding a lab never touches the engine. See README.md next to this
file for the contract a lab package follows.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType

VISIBLE_KEY = b"zablab-visible-seeds"  # visible seeds are fixed, so every student sees the same


class SubmissionError(Exception):
    """The submission cannot be used at all (a file is missing or does not import)."""


@dataclass
class Case:
    """One run of a test on one seed, as the test function sees it."""

    lab: Lab
    test: Test
    dir: Path  # the student's directory; the only place student code is read from
    seed: int
    rng: random.Random = field(init=False)
    _modules: dict[str, ModuleType] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def student(self, filename: str) -> ModuleType:
        """The student's module `filename`, imported from the submission directory by path.

        Nothing is put on sys.path: the student's other files (or a copy of our tests, or a
        fake `zablab` package) next to it are never imported by the grader.
        """
        mod = self._modules.get(filename)
        if mod is None:
            mod = self._modules[filename] = load_student_file(self.dir, filename)
        return mod


def find_student_file(directory: Path, filename: str) -> Path:
    """The file at the top of `directory`, else its one copy below it (Gradescope keeps the
    folders a student uploads)."""
    top = directory / filename
    if top.is_file():
        return top
    found = [
        p for p in sorted(directory.rglob(filename)) if "__MACOSX" not in p.parts and p.is_file()
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SubmissionError(
            f"{filename} is not in the submission ({directory}); submit the file itself, "
            "at the top level"
        )
    where = ", ".join(str(p.relative_to(directory)) for p in found)
    raise SubmissionError(f"{filename} is in the submission more than once ({where}); keep one")


def load_student_file(directory: Path, filename: str) -> ModuleType:
    path = find_student_file(directory, filename)
    name = "student_" + Path(filename).stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SubmissionError(f"cannot load {path}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        del sys.modules[name]
        raise SubmissionError(
            f"{filename} does not import: {type(exc).__name__}: {exc}"
        ) from exc
    return mod


TestFunc = Callable[[Case], None]


@dataclass(frozen=True)
class Test:
    """One graded check. The function raises AssertionError with an explanation on failure.

    A seeded test runs `seeds` cases with fixed visible seeds; with `hidden_points` the grader
    runs it again on seeds derived from the course's secret, worth those points. A `hidden`
    test runs only in `zablab lab grade`, and its output is shown after the due date.
    """

    name: str  # "part.concept", e.g. "multi.rollback": says what a failure means
    part: str
    points: float
    func: TestFunc
    seeds: int = 1
    hidden_points: float = 0.0
    hidden: bool = False
    timeout: float = 10.0  # seconds for all its seeds together
    tags: tuple[str, ...] = ()
    # seeds come from hmac(key, seed_key) (default: the name): tests that grade parts of one
    # secret draw (the bughunt lab's hidden bugs) share it and so agree on what was drawn
    seed_key: str = ""

    @property
    def seeded(self) -> bool:
        """Whether its cases depend on the seed (else a replay needs only the test's name)."""
        return self.seeds > 1 or self.hidden_points > 0 or self.hidden

    @property
    def explanation(self) -> str:
        """The first paragraph of the test function's docstring: what it checks."""
        doc = (self.func.__doc__ or "").strip()
        return " ".join(doc.split("\n\n", 1)[0].split())


@dataclass(frozen=True)
class Part:
    name: str
    title: str


@dataclass(frozen=True)
class Lab:
    """A lab. `package` is the dotted name of its package, which holds handout/, starter/
    and reference/ (each with the `student_files`) and the visible tests module, whose file
    the workspace gets as a copy for reading."""

    name: str
    title: str
    package: str
    parts: tuple[Part, ...]
    tests: tuple[Test, ...]
    student_files: tuple[str, ...]
    given_points: float = 0.0  # what the untouched starter scores; the handout says so
    visible_tests_module: str = "tests"
    memory_mb: int = 640  # data-segment limit of one test process (RLIMIT_DATA), under Gradescope's 768 MB
    # seconds for a whole grading run: tests that would start later fail as "not run", so a
    # submission that hangs everywhere still gets results within Gradescope's 10 minutes
    time_budget: float = 270.0
    summary: str = ""
    apt_packages: tuple[str, ...] = ()  # what the Gradescope image needs beyond Python
    # `zablab lab serve LAB --dir DIR`: run the student's code as a server to poke at by hand
    serve: Callable[[Path, int], None] | None = None
    # what course staff hand the students for a secret (printed by `zablab lab autograder`),
    # for a lab whose task depends on the secret (bughunt: the mystery tokens)
    notice: Callable[[str], str] | None = None
    # for a lab whose submission is what the reference makes rather than the reference itself
    # (bughunt: the traces its hunter finds): write a full-marks submission for a secret
    reference_submission: Callable[[Path, str], None] | None = None

    def __post_init__(self) -> None:
        names = [t.name for t in self.tests]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"lab {self.name}: duplicate test names {sorted(dup)}")
        parts = {p.name for p in self.parts}
        for t in self.tests:
            if t.part not in parts:
                raise ValueError(f"lab {self.name}: test {t.name} names unknown part {t.part}")

    def resource(self, *path: str) -> Path:
        root = Path(str(resources.files(self.package)))
        return root.joinpath(*path)

    def test(self, name: str) -> Test:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(name)

    def visible(self, part: str | None = None) -> list[Test]:
        return [t for t in self.tests if not t.hidden and (part is None or t.part == part)]

    @property
    def max_points(self) -> float:
        return sum(t.points + (t.hidden_points if not t.hidden else 0.0) for t in self.tests)


def derive_seed(key: bytes, test: str, index: int) -> int:
    """A seed for case `index` of `test`: hmac(key, name), so seeds differ per test and per
    course secret, and the same secret always gives the same seeds (a grade can be rerun)."""
    digest = hmac.new(key, f"{test}#{index}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % 1_000_000


def visible_seeds(test: Test) -> list[int]:
    return [derive_seed(VISIBLE_KEY, test.seed_key or test.name, i) for i in range(test.seeds)]


def hidden_seeds(test: Test, secret: str) -> list[int]:
    return [derive_seed(secret.encode(), test.seed_key or test.name, i) for i in range(test.seeds)]


def code_lines(path: Path) -> int:
    """Lines of code in a solution file, as a handout's "our solution is about N lines" counts
    them: not blank, not a comment, not part of a docstring."""
    import ast

    src = path.read_text(encoding="utf-8")
    docs: set[int] = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if ast.get_docstring(node) is not None:
                d = node.body[0]
                docs.update(range(d.lineno, (d.end_lineno or d.lineno) + 1))
    return sum(
        1
        for i, line in enumerate(src.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and i not in docs
    )
