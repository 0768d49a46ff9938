"""The election grader, proven on a real ensemble: the reference gets full marks, the untouched
starter only the given points, and every mutant fails the test whose name says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.labs.conftest import grade, zablab
from zablab.labs.election.mutants import MUTANTS, mutant_source, write_mutant
from zablab.labs.registry import get_lab

LAB = get_lab("election")


def _grade(tmp_path: Path, source: Path) -> dict:
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copyfile(source, sub / "election.py")
    return grade("election", sub, tmp_path / "results.json")


def _failed(doc: dict) -> set[str]:
    return {t["name"] for t in doc["tests"] if t["status"] == "failed"}


@pytest.mark.slow
def test_reference_gets_full_marks(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("reference", "election.py"))
    assert _failed(doc) == set(), [t["output"] for t in doc["tests"] if t["status"] == "failed"]
    assert doc["score"] == LAB.max_points == 64
    assert any(t["name"].endswith("(secret seeds)") for t in doc["tests"])
    hidden = {t["name"] for t in doc["tests"] if t["visibility"] == "after_due_date"}
    assert "failover.unique_zombie_is_fenced" in hidden


@pytest.mark.slow
def test_starter_gets_only_the_given_points(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("starter", "election.py"))
    assert doc["score"] == LAB.given_points == 2
    assert {t["name"] for t in doc["tests"] if t["status"] == "passed"} == {"api.signatures"}
    for t in doc["tests"]:
        if t["status"] == "failed":
            assert "NotImplementedError" in t["output"] or "not implemented yet" in t["output"]
    kill = next(t for t in doc["tests"] if t["name"] == "failover.kill_primary")
    assert "replay: zablab lab test election --dir" in kill["output"]


WHY = {  # what the failure says, in the student's terms
    "watch-smallest": "woke",
    "no-fencing": "two leaders at once",
    "ignore-suspended": "while SUSPENDED",
    "no-rerace": "race again",
}


def test_mutants_are_the_known_wrong_solutions_and_apply_to_the_reference() -> None:
    assert {m.name for m in MUTANTS} == set(WHY)
    names = {t.name for t in LAB.tests}
    for m in MUTANTS:
        assert m.must_fail in names
        assert mutant_source(m) != LAB.resource("reference", "election.py").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m.name for m in MUTANTS])
def test_each_mutant_loses_points_in_the_test_named_for_it(tmp_path: Path, mutant: str) -> None:
    m = next(x for x in MUTANTS if x.name == mutant)
    write_mutant(m, tmp_path / "sub")
    r = zablab("lab", "test", "election", "--dir", str(tmp_path / "sub"), "--case", m.must_fail)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED" in r.stdout and WHY[mutant] in r.stdout, r.stdout
    ref = zablab(
        "lab", "test", "election", "--dir", str(LAB.resource("reference")), "--case", m.must_fail
    )
    assert ref.returncode == 0, ref.stdout + ref.stderr
