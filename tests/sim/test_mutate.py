"""The replica mutator: fixed points, one-point mutants, and a check that tells a bad mutant
from the original module (the score bench/mutation_score.py prints means nothing otherwise)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zablab.sim.mutate import (
    BUG_ONLY,
    MODULES,
    PLUMBING,
    Check,
    Point,
    excluded_of,
    mutate,
    points_of,
    run_mutant,
    sample,
)

ROOT = Path(__file__).resolve().parents[2]
REPLICA = "zablab/node/zab/replica.py"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _source(file: str) -> str:
    return (ROOT / file).read_text()


def test_points_are_enumerated_in_one_fixed_order() -> None:
    for file in MODULES:
        src = _source(file)
        first, second = points_of(file, src), points_of(file, src)
        assert first == second
        assert len({p.key for p in first}) == len(first)  # (file, line, col, kind) names one
        assert [(p.line, p.col) for p in first] == sorted((p.line, p.col) for p in first)
    kinds = {p.kind for p in points_of(REPLICA, _source(REPLICA))}
    assert kinds == {"compare", "boolop", "not", "const+1", "const-1", "return-early", "delete"}
    pts = points_of(REPLICA, _source(REPLICA))
    assert sample(pts, 10, seed=3) == sample(pts, 10, seed=3) != sample(pts, 10, seed=4)


def test_a_small_module_yields_the_expected_points() -> None:
    src = (
        "def f(a: int, b: int) -> bool:\n"
        '    """doc 7"""\n'
        "    x = a + 1\n"
        "    return not (x < b and a == 2)\n"
    )
    got = {
        (p.line, p.kind, mutate(src, p).splitlines()[p.line - 1].strip())
        for p in points_of("m.py", src)
    }
    assert got == {
        (3, "const+1", "x = a + 2"),
        (3, "const-1", "x = a + 0"),
        (3, "delete", "pass"),
        (4, "not", "return (x < b and a == 2)"),
        (4, "compare", "return not (x <= b and a == 2)"),
        (4, "compare", "return not (x < b and a != 2)"),
        (4, "boolop", "return not (x < b or a == 2)"),
        (4, "const+1", "return not (x < b and a == 3)"),
        (4, "const-1", "return not (x < b and a == 1)"),
    }  # no point in the annotations or the docstring; a bool function gets no early return


_GATED = (
    "class R:\n"
    "    def f(self, a: int) -> list[int]:\n"
    "        out = [a]\n"
    "        if self.bugs.x:\n"
    "            a = a + 1\n"
    "            out.append(a)\n"
    "        if a > 2 and self.bugs.y:\n"
    "            out.append(3)\n"
    "            a = 4\n"
    "        else:\n"
    "            out.append(5)\n"
    "            a = 6\n"
    "        if self.bugs.x or self.bugs.y:\n"
    "            a = 7\n"
    "        if self.follow.pending_snapshot is not None:\n"
    "            self.follow.pending_snapshot = None\n"
    "            a = 8\n"
    "        return out\n"
    "\n"
    "    def g(self) -> list[int]:\n"
    "        if not self.follow.unlogged:\n"
    "            return []\n"
    "        self.follow.unlogged = []\n"
    "        return [9]\n"
)


def test_points_only_a_bug_switch_reaches_are_left_out_and_ordinary_ones_kept() -> None:
    kept = {(p.line, p.kind) for p in points_of("m.py", _GATED)}
    out = {(p.line, p.kind): why for p, why in excluded_of("m.py", _GATED)}
    assert set(out.values()) == {BUG_ONLY}
    # inside `if self.bugs.x`, after `a > 2 and self.bugs.y` (also its `>`), the or of two
    # switches, a bug-only field's branch, and past the `if not <bug state>: return` guard
    assert {(5, "const+1"), (5, "delete"), (6, "delete"), (7, "compare"), (7, "const+1")} <= set(
        out
    )
    assert {(8, "delete"), (9, "delete"), (13, "boolop"), (16, "delete"), (17, "delete")} <= set(
        out
    )
    assert {(23, "delete"), (21, "return-early")} <= set(out)
    assert (24, "const+1") in out
    # the clean path: before the branches, the and itself, the else of a switch
    assert {(3, "delete"), (7, "boolop"), (11, "delete"), (12, "delete"), (12, "const+1")} <= kept
    assert {(3, "return-early"), (18, "return-early")} - kept == {(18, "return-early")}
    assert not kept & set(out)


def test_the_replica_s_bug_branches_and_the_rules_plumbing_are_left_out() -> None:
    replica = {
        _source(REPLICA).splitlines()[p.line - 1].strip()
        for p, why in excluded_of(REPLICA, _source(REPLICA))
    }
    assert "self.follow.unlogged.append((msg.zxid, msg.payload))" in replica
    assert "self.follow.pending_snapshot = None" in replica
    rules = "zablab/node/zab/rules.py"
    out = excluded_of(rules, _source(rules))
    assert [(why, p.kind) for p, why in out] == [(PLUMBING, "delete")]
    assert _source(rules).splitlines()[out[0][0].line - 1].strip() == "_active.append(rules)"
    # the clean replica's own code keeps its points (e.g. the quorum commit, the SNAP sync)
    lines = {
        _source(REPLICA).splitlines()[p.line - 1].strip()
        for p in points_of(REPLICA, _source(REPLICA))
    }
    assert "self.durable_floor = msg.zxid" in lines
    assert "if point is None or point <= self.committed_zxid:" in lines


def _check_mutants(file: str, points: list[Point]) -> None:
    src = _source(file)
    original = ast.dump(ast.parse(src))
    for p in points:
        m = mutate(src, p)
        tree = ast.parse(m)
        compile(tree, file, "exec")
        assert ast.dump(tree) != original, p.key
        # the text before and after the point's span is untouched, the span holds the edit
        lines, mlines = src.splitlines(keepends=True), m.splitlines(keepends=True)
        assert lines[: p.line - 1] == mlines[: p.line - 1], p.key
        assert lines[p.line - 1][: p.col] == mlines[p.line - 1][: p.col], p.key
        tail = "".join(lines[p.end_line - 1 :])[p.end_col :]
        assert m.endswith(tail) and m[: len(m) - len(tail)].endswith(p.replacement), p.key


@pytest.mark.parametrize("file", MODULES)
def test_mutants_compile_and_differ_at_exactly_their_point(file: str) -> None:
    points = points_of(file, _source(file))
    firsts = {p.kind: p for p in reversed(points)}  # one of every kind, however rare
    chosen = sorted(set(sample(points, 80, seed=1)) | set(firsts.values()))
    assert {p.kind for p in chosen} == {p.kind for p in points}
    _check_mutants(file, chosen)


@pytest.mark.slow
@pytest.mark.parametrize("file", MODULES)
def test_every_mutant_compiles_and_differs_at_exactly_its_point(file: str) -> None:
    _check_mutants(file, points_of(file, _source(file)))


def _point(file: str, line_text: str, kind: str, replacement: str) -> Point:
    src = _source(file)
    for p in points_of(file, src):
        if p.kind == kind and p.replacement == replacement:
            if src.splitlines()[p.line - 1].strip() == line_text:
                return p
    raise AssertionError(f"no {kind} point on {line_text!r}")


def test_the_check_catches_a_leader_committing_without_a_quorum_and_passes_the_original() -> None:
    check = Check(seeds=30, nodes=(3,), timeout=120, modes=("heal",))
    # the leader's commit rule: commit at the quorum-th highest ack, here made the (q-1)-th
    bad = _point("zablab/node/zab/rules.py", "point = on_disk[quorum - 1]", "const+1", "2")
    caught = run_mutant(ROOT, bad, check)
    assert caught.verdict == "seeds", caught
    assert caught.detail.startswith("heal: seed ") and " on 3 nodes: " in caught.detail, caught
    original = run_mutant(ROOT, None, check, REPLICA)
    assert original.verdict == "survived", original


def test_a_leader_needing_more_than_a_bare_quorum_is_caught_by_the_lasting_runs() -> None:
    """Full-heal runs cannot see it (everything answers in the end); a minority crashed for
    good can: that is why the check has that mode."""
    bad = _point(REPLICA, "if alive < self.quorum:", "compare", "<=")
    healed = run_mutant(ROOT, bad, Check(seeds=10, nodes=(3,), timeout=120, modes=("heal",)))
    assert healed.verdict == "survived", healed
    lasting = run_mutant(ROOT, bad, Check(seeds=10, nodes=(3,), timeout=120))
    assert lasting.verdict == "seeds" and lasting.detail.startswith("crash-minority:"), lasting
    assert "liveness" in lasting.detail, lasting


def test_a_sync_left_waiting_for_a_later_commit_is_caught_by_the_sync_runs() -> None:
    bad = _point(REPLICA, "if self.committed_zxid >= self.last_zxid:", "compare", ">")
    out = run_mutant(ROOT, bad, Check(seeds=5, nodes=(3,), timeout=120, modes=("syncs",)))
    assert out.verdict == "seeds" and "never answered" in out.detail, out


def test_a_mutant_that_breaks_the_replica_counts_as_a_crash() -> None:
    # a replica whose constructor forgets its quorum size fails at the first use of it
    p = _point(REPLICA, "self.quorum = len(self.members) // 2 + 1", "delete", "pass")
    out = run_mutant(ROOT, p, Check(seeds=2, nodes=(3,), timeout=120))
    assert out.verdict == "crash" and "quorum" in out.detail, out


def test_the_bench_prints_the_score_and_each_survivor_with_a_reason_to_fill() -> None:
    bench = ROOT / "bench" / "mutation_score.py"
    args = ["--sample", "4", "--seeds", "3", "--nodes", "3", "--jobs", "2", "--sample-seed", "5"]
    proc = subprocess.run(
        [sys.executable, str(bench), *args], capture_output=True, text=True, timeout=600, env=ENV
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    tried = int(re.search(r"mutants tried: +(\d+)", out).group(1))  # type: ignore[union-attr]
    survivors = int(re.search(r"survivors: +(\d+)", out).group(1))  # type: ignore[union-attr]
    parts = [
        int(re.search(rf"caught by {k}: +(\d+)", out).group(1))  # type: ignore[union-attr]
        for k in ("seeds", "search", "crash", "timeout")
    ]
    assert tried == 4 and sum(parts) + survivors == tried
    m = re.search(r"mutation score: +(\d+)/(\d+) = \d+% of the non-equivalent", out)
    assert m is not None, out
    equivalent = int(re.search(r"of them equivalent: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert (int(m.group(1)), int(m.group(2))) == (tried - survivors, tried - equivalent)
    assert out.count("    reason: ") == survivors  # each judged, or "?" for a human to fill
    # what was not mutated, and why, is in the header (bug-only code, the rules' plumbing)
    found = re.findall(r"left out (\d+) points no clean run reaches \(([\w -]+):", out)
    left = {why: int(n) for n, why in found}
    assert set(left) == {"bug-only", "lab plumbing"} and min(left.values()) > 0, out
    bad = subprocess.run(
        [sys.executable, str(bench), "--jobs", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert bad.returncode == 255 and len(bad.stderr.strip().splitlines()) == 1
