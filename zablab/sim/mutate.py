"""Mutation testing of the replica: how much of it the simulator's checks actually constrain.

A mutant is the module's source with one small edit spliced in at one point (a relaxed or
flipped comparison, ``and``/``or`` swapped, a ``not`` dropped, an integer constant off by one,
a bare-return function made to return at once, a statement deleted). The edit replaces only
the text of the node it targets, so the mutant differs from the original at exactly that
point and the rest of the file keeps its lines (a trace's line numbers still mean something).

Each mutant runs in a fresh interpreter: the mutated source is compiled and installed in
``sys.modules`` under the module's own name *before* anything imports it, so every importer
(the replica factory, the simulator) gets the mutant, and nothing leaks between mutants.
The check there is the bare-replica simulator on a seed set and, optionally, a bounded dfs
search; a mutant is caught when a seed or the search reports a violation, or when it crashes
or runs out of time (kept apart: a crash is the cheap kind of catch).
"""

from __future__ import annotations

import ast
import bisect
import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_FLIP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_TEXT: dict[type, str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
# the operator between two operands (where only parens, blanks and comments surround it)
_PATTERN: dict[type, str] = {
    ast.Lt: r"<(?!=)",
    ast.LtE: r"<=",
    ast.Gt: r">(?!=)",
    ast.GtE: r">=",
    ast.Eq: r"==",
    ast.NotEq: r"!=",
    ast.Is: r"\bis\b(?!\s+not\b)",
    ast.IsNot: r"\bis\s+not\b",
    ast.In: r"(?<!not )\bin\b",
    ast.NotIn: r"\bnot\s+in\b",
}
KINDS = ("compare", "boolop", "not", "const+1", "const-1", "return-early", "delete")
MODULES = ("zablab/node/zab/replica.py", "zablab/node/zab/rules.py", "zablab/node/zab/election.py")

# Code the clean replica never runs, so no mutant of it can fail the check: the bench would
# only count it as a survivor. Two kinds, both found from the tree, not by line:
# - bug-only: what runs only with a seeded bug's switch on (``self.bugs.<name>``), or only
#   when a field that only the bugs fill holds something (BUG_STATE);
# - lab plumbing (LAB_PLUMBING): the functions only a lab's grader calls, to plug a student's
#   code in; the simulator's replica is built with the reference and never calls them.
BUG_STATE = frozenset({"pending_snapshot", "unlogged", "loaded_zxid", "claimed_zxid"})
LAB_PLUMBING: dict[str, frozenset[str]] = {"zablab/node/zab/rules.py": frozenset({"plugged"})}
BUG_ONLY = "bug-only: runs only with a seeded bug's switch on (self.bugs.<name>, or state only a bug fills)"
PLUMBING = (
    "lab plumbing: called only by a lab's grader to plug rules in, never by the simulated replica"
)


@dataclass(frozen=True, order=True)
class Point:
    """One mutation point; (file, line, col, kind) names it (col is 0-based, in characters)."""

    file: str
    line: int
    col: int
    kind: str
    end_line: int
    end_col: int
    replacement: str  # the text that replaces source[(line, col):(end_line, end_col)]

    @property
    def key(self) -> str:
        return f"{self.file}:{self.line}:{self.col}:{self.kind}"


def _offsets(source: str) -> list[int]:
    starts = [0]
    for ln in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(ln))
    return starts


class _Finder:
    """Walks one module's tree and yields its mutation points in source order."""

    def __init__(self, file: str, source: str) -> None:
        self.file, self.source = file, source
        self.lines = source.splitlines(keepends=True)
        self.starts = _offsets(source)

    # ast columns are UTF-8 byte offsets; splicing works on characters
    def _char_col(self, line: int, byte_col: int) -> int:
        return len(self.lines[line - 1].encode()[:byte_col].decode())

    def _pos(self, line: int, byte_col: int) -> int:
        return self.starts[line - 1] + self._char_col(line, byte_col)

    def _span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self._pos(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self._pos(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def _point(self, kind: str, start: int, end: int, replacement: str) -> Point:
        line, col = self._line_col(start)
        end_line, end_col = self._line_col(end)
        return Point(self.file, line, col, kind, end_line, end_col, replacement)

    def _line_col(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, pos) - 1
        return i + 1, pos - self.starts[i]

    def _between(self, left: ast.AST, right: ast.AST, pattern: str) -> tuple[int, int]:
        """The operator token between two operands (only parens, blanks, comments there)."""
        a, b = self._span(left)[1], self._span(right)[0]
        gap = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), self.source[a:b])
        m = re.search(pattern, gap)
        if m is None:
            raise ValueError(f"{self.file}: no operator between {a} and {b}: {gap!r}")
        lead = len(m.group(0)) - len(m.group(0).lstrip())
        return a + m.start() + lead, a + m.end()

    def points(self, tree: ast.Module) -> Iterator[Point]:
        for p, why in self.classified(tree):
            if not why:
                yield p

    def classified(self, tree: ast.Module) -> Iterator[tuple[Point, str]]:
        """Every point with "" or the reason no run of the clean replica can reach it."""
        skip = self._skipped(tree)
        unseen = self._unobservable(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            for origin, p in self._at(node):
                yield p, unseen.get(id(origin), "")

    def _unobservable(self, tree: ast.Module) -> dict[int, str]:
        """Nodes only a bug switch or a lab's grader reaches, each with its reason."""
        out: dict[int, str] = {}

        def mark(nodes: Sequence[ast.AST], why: str) -> None:
            for n in nodes:
                for x in ast.walk(n):
                    out.setdefault(id(x), why)

        plumbing = LAB_PLUMBING.get(self.file, frozenset())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in plumbing:
                mark([node], PLUMBING)
            elif isinstance(node, (ast.If, ast.IfExp)) and _bug_gated(node.test):
                mark(node.body if isinstance(node, ast.If) else [node.body], BUG_ONLY)
            elif isinstance(node, (ast.If, ast.IfExp)) and _bug_off(node.test):
                mark(node.orelse if isinstance(node, ast.If) else [node.orelse], BUG_ONLY)
            if isinstance(node, ast.BoolOp) and _bug_gated(node):
                if isinstance(node.op, ast.Or):
                    mark([node], BUG_ONLY)  # every operand false: swapping and/or changes nothing
                else:  # one operand is always false, so the others' value never matters
                    mark([v for v in node.values if not _bug_gated(v)], BUG_ONLY)
            for block in _blocks(node):
                for i, st in enumerate(block):
                    if isinstance(st, ast.If) and _bug_off(st.test) and _ends(st.body):
                        mark(block[i + 1 :], BUG_ONLY)  # `if not <bug state>: return` guards
                    if isinstance(st, ast.Assign) and all(map(_bug_state, st.targets)):
                        mark([st], BUG_ONLY)  # a field only bug-only code reads
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = [st for st in node.body if not _is_docstring(st)]
                if body and isinstance(body[0], ast.If) and _bug_off(body[0].test):
                    if _ends(body[0].body):
                        out.setdefault(id(node), BUG_ONLY)  # its early return: already the guard
        return out

    def _skipped(self, tree: ast.Module) -> set[int]:
        """Nodes no mutant should touch: annotations, docstrings, decorators."""
        out: set[int] = set()

        def mark(n: ast.AST | None) -> None:
            if n is not None:
                out.update(id(x) for x in ast.walk(n))

        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign):
                mark(node.annotation)
            elif isinstance(node, ast.arg):
                mark(node.annotation)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                mark(node.returns)
                for d in node.decorator_list:
                    mark(d)
            elif isinstance(node, ast.ClassDef):
                for d in node.decorator_list:
                    mark(d)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    mark(first)
        return out

    def _at(self, node: ast.AST) -> Iterator[tuple[ast.AST, Point]]:
        """Each point with the node it stands for (a deletion: its statement)."""
        for p in self._edits(node):
            yield node, p
        if isinstance(node, (ast.FunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try)):
            for block in (node.body, getattr(node, "orelse", [])):
                if len(block) > 1:  # deleting the only statement would not compile
                    yield from self._deletions(block)

    def _edits(self, node: ast.AST) -> Iterator[Point]:
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                s, e = self._between(operands[i], operands[i + 1], _PATTERN[type(op)])
                yield self._point("compare", s, e, _TEXT[_FLIP[type(op)]])
        elif isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            other = "or" if word == "and" else "and"
            for a, b in itertools.pairwise(node.values):
                s, e = self._between(a, b, rf"\b{word}\b")
                yield self._point("boolop", s, e, other)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            s, e = self._span(node)
            inner = self.source[slice(*self._span(node.operand))]
            yield self._point("not", s, e, f"({inner})")
        elif (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and not isinstance(node.value, bool)
        ):
            s, e = self._span(node)
            yield self._point("const+1", s, e, str(node.value + 1))
            if node.value > 0:
                yield self._point("const-1", s, e, str(node.value - 1))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from self._early_return(node)

    def _early_return(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Point]:
        """Only where it type-checks: a function that returns nothing, or returns a list of
        actions (``return []`` then means "do nothing"), and is no generator."""
        inner = [n for n in ast.walk(fn) if n is not fn]
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in inner):
            return
        returns = [n for n in inner if isinstance(n, ast.Return)]
        ann = ast.unparse(fn.returns) if fn.returns else "None"
        if ann == "None" and all(r.value is None for r in returns):
            text = "return"
        elif ann.startswith("list["):
            text = "return []"
        else:
            return
        body = fn.body
        first = body[1] if _is_docstring(body[0]) and len(body) > 1 else body[0]
        s = self._pos(first.lineno, first.col_offset)
        indent = " " * self._char_col(first.lineno, first.col_offset)
        yield self._point("return-early", s, s, f"{text}\n{indent}")

    def _deletions(self, block: list[ast.stmt]) -> Iterator[tuple[ast.AST, Point]]:
        for st in block:
            deletable = isinstance(st, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or (
                isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)
            )
            if deletable and not _is_docstring(st):
                s, e = self._span(st)
                yield st, self._point("delete", s, e, "pass")


def _bugs_flag(e: ast.expr) -> bool:
    """``self.bugs.<name>``: a seeded bug's switch, off in every run of the clean replica."""
    return (
        isinstance(e, ast.Attribute)
        and isinstance(e.value, ast.Attribute)
        and e.value.attr == "bugs"
        and isinstance(e.value.value, ast.Name)
        and e.value.value.id == "self"
    )


def _bug_state(e: ast.expr) -> bool:
    return isinstance(e, ast.Attribute) and e.attr in BUG_STATE


def _bug_gated(e: ast.expr) -> bool:
    """True only with a bug on: a switch, a bug-only field's truth, and-ed or or-ed."""
    if _bugs_flag(e) or _bug_state(e):
        return True
    if isinstance(e, ast.Compare) and len(e.ops) == 1 and isinstance(e.ops[0], ast.IsNot):
        right = e.comparators[0]
        return _bug_state(e.left) and isinstance(right, ast.Constant) and right.value is None
    if isinstance(e, ast.BoolOp):
        test = any if isinstance(e.op, ast.And) else all
        return test(_bug_gated(v) for v in e.values)
    return False


def _bug_off(e: ast.expr) -> bool:
    return isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not) and _bug_gated(e.operand)


def _ends(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))


def _blocks(node: ast.AST) -> list[list[ast.stmt]]:
    return [
        b
        for name in ("body", "orelse", "finalbody")
        if isinstance(b := getattr(node, name, None), list) and b and isinstance(b[0], ast.stmt)
    ]


def _is_docstring(st: ast.stmt) -> bool:
    return isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant)


def points_of(file: str, source: str) -> list[Point]:
    """Every mutation point of one module, in a fixed order (by line, column, kind)."""
    found = set(_Finder(file, source).points(ast.parse(source)))
    return sorted(found, key=lambda p: (p.file, p.line, p.col, KINDS.index(p.kind), p.key))


def excluded_of(file: str, source: str) -> list[tuple[Point, str]]:
    """The points of a module left out because the clean replica cannot reach them, each with
    its reason (BUG_ONLY or PLUMBING); points_of is every other point."""
    found = {(p, why) for p, why in _Finder(file, source).classified(ast.parse(source)) if why}
    kept = set(points_of(file, source))
    return sorted(((p, w) for p, w in found if p not in kept), key=lambda x: x[0].key)


def mutate(source: str, point: Point) -> str:
    """The source with the one edit of ``point`` spliced in."""
    starts = _offsets(source)
    s = starts[point.line - 1] + point.col
    e = starts[point.end_line - 1] + point.end_col
    return source[:s] + point.replacement + source[e:]


def module_name(file: str) -> str:
    return file.removesuffix(".py").replace("/", ".")


def sample(points: Sequence[Point], n: int | None, seed: int) -> list[Point]:
    """A seeded random sample, reported in the points' own order."""
    if n is None or n >= len(points):
        return list(points)
    chosen = random.Random(seed).sample(range(len(points)), n)
    return [points[i] for i in sorted(chosen)]


# The kinds of run a mutant faces, each on ``Check.seeds`` seeds per cluster size: full-heal
# runs (safety, convergence), runs that end with a minority crashed or cut off for good (a
# leader and commits without it: a replica that needs more than a bare quorum fails these),
# and runs with client syncs (each answered, and holding what was acknowledged before it).
MODES: dict[str, dict[str, Any]] = {
    "heal": {},
    "crash-minority": {"lasting": "crash-minority"},
    "partition-minority": {"lasting": "partition-minority"},
    "syncs": {"sync_every_ms": 100},
}


@dataclass(frozen=True)
class Check:
    seeds: int = 60
    nodes: tuple[int, ...] = (3, 5)
    search_states: int = 0  # 0: no search; else a dfs bounded by this many states
    timeout: float = 120.0
    modes: tuple[str, ...] = tuple(MODES)


@dataclass(frozen=True)
class Outcome:
    point: Point | None  # None: the unmutated module
    verdict: str  # "seeds", "search", "crash", "timeout", "survived"
    detail: str
    seconds: float

    @property
    def caught(self) -> bool:
        return self.verdict != "survived"


# Runs in the child before anything of zablab is imported: install the mutant, then check.
_CHILD = """
import json, sys, types
job = json.loads(sys.stdin.read())
if job["source"] is not None:
    name = job["module"]
    mod = types.ModuleType(name)
    mod.__file__ = job["path"]
    mod.__package__ = name.rpartition(".")[0]
    sys.modules[name] = mod
    exec(compile(job["source"], job["path"], "exec"), mod.__dict__)
from zablab.sim.mutate import run_check
print("MUTATION-RESULT " + json.dumps(run_check(job["check"])))
"""


def run_check(check: dict[str, Any]) -> dict[str, str]:
    """The check itself (in the child): seeds first (mode by mode, the cheap full-heal runs
    first), the search only if every seed passes."""
    from zablab.sim.cluster import SimConfig, simulate
    from zablab.sim.search import Bounds, search

    try:
        for mode in check.get("modes", ["heal"]):
            for nodes in check["nodes"]:
                cfg = SimConfig(nodes=nodes, **MODES[mode])
                for seed in range(check["seeds"]):
                    r = simulate(seed, cfg)
                    if not r.ok:
                        return {
                            "verdict": "seeds",
                            "detail": f"{mode}: seed {seed} on {nodes} nodes: {r.violations[0]}"[
                                :300
                            ],
                        }
        if check["search_states"]:
            b = Bounds(max_states=check["search_states"], time_limit=10 * check["timeout"])
            res = search(SimConfig(nodes=3), "dfs", b)
            if res.violations:
                return {"verdict": "search", "detail": res.violations[0]}
    except Exception as e:  # noqa: BLE001 - any exception of the mutant is its crash
        return {"verdict": "crash", "detail": f"{type(e).__name__}: {e}"[:200]}
    return {"verdict": "survived", "detail": ""}


def run_mutant(root: Path, point: Point | None, check: Check, file: str | None = None) -> Outcome:
    """One mutant (or, with ``point`` None, the original module) in a fresh interpreter."""
    file = point.file if point else file
    job: dict[str, Any] = {"check": asdict(check), "source": None, "module": "", "path": ""}
    if point is not None:
        path = root / point.file
        job.update(
            source=mutate(path.read_text(), point),
            module=module_name(point.file),
            path=str(path),
        )
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=check.timeout,
            cwd=root,
            env=_child_env(root),
        )
    except subprocess.TimeoutExpired:
        return Outcome(point, "timeout", f"over {check.timeout:.0f} s", time.perf_counter() - start)
    took = time.perf_counter() - start
    for ln in reversed(proc.stdout.splitlines()):
        if ln.startswith("MUTATION-RESULT "):
            r = json.loads(ln.removeprefix("MUTATION-RESULT "))
            return Outcome(point, r["verdict"], r["detail"], took)
    tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return Outcome(point, "crash", tail[:200], took)


def _child_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    return env


def source_line(root: Path, point: Point) -> tuple[str, str]:
    """The original line of a point and the same line in its mutant."""
    src = (root / point.file).read_text()
    before = src.splitlines()[point.line - 1]
    after = mutate(src, point).splitlines()[point.line - 1]
    return before.strip(), after.strip()
