"""The znode grader, proven: the reference gets full marks, the untouched starter only the
given points, every mutant loses points in the test whose name says why, a submission that
edits the tests gains nothing, and results.json validates against Gradescope's fields."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from tests.labs.conftest import validate_results, zablab
from zablab.labs.registry import get_lab

LAB = get_lab("znode")
MUTANTS = sorted(p.stem for p in LAB.resource("mutants").glob("*.py") if p.stem != "__init__")


def _grade(tmp_path: Path, source: Path, name: str = "sub") -> dict:
    sub = tmp_path / name
    sub.mkdir()
    shutil.copyfile(source, sub / "znode_tree.py")
    return _grade_dir(tmp_path, sub)


def _grade_dir(tmp_path: Path, sub: Path) -> dict:
    out = tmp_path / f"{sub.name}.json"
    r = zablab("lab", "grade", "znode", "--submission", str(sub), "--results", str(out),
               "--secret", "course-secret")
    assert r.returncode == 0, r.stdout + r.stderr
    return validate_results(out)


def _failed(doc: dict) -> set[str]:
    return {t["name"] for t in doc["tests"] if t["status"] == "failed"}


def test_reference_gets_full_marks(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("reference", "znode_tree.py"))
    assert _failed(doc) == set()
    assert doc["score"] == LAB.max_points
    assert {t["visibility"] for t in doc["tests"]} == {"visible", "after_due_date"}
    hidden = [t for t in doc["tests"] if t["visibility"] == "after_due_date"]
    assert any(t["name"].endswith("(secret seeds)") for t in hidden)
    assert {t["name"] for t in hidden} >= {"random.long_sequences", "kazoo.watchers"}


def test_starter_gets_only_the_given_points(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("starter", "znode_tree.py"))
    assert doc["score"] == LAB.given_points == 2
    passed = {t["name"] for t in doc["tests"] if t["status"] == "passed"}
    assert passed == {"api.signatures"}
    create = next(t for t in doc["tests"] if t["name"] == "basics.create_get")
    assert "not implemented yet: create" in create["output"]
    assert "replay: zablab lab test znode --dir" in create["output"]


@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_mutant_loses_points_in_the_test_named_for_it(tmp_path: Path, mutant: str) -> None:
    expected = importlib.import_module(f"zablab.labs.znode.mutants.{mutant}").EXPECTED_FAILURE
    doc = _grade(tmp_path, LAB.resource("mutants", f"{mutant}.py"))
    assert expected in _failed(doc)
    assert doc["score"] <= LAB.max_points - LAB.test(expected).points


def test_mutants_cover_the_known_wrong_solutions() -> None:
    assert set(MUTANTS) == {"global_sequence", "cversion_on_delete", "ephemerals_kept",
                            "reply_before_watch", "multi_no_rollback"}


def test_editing_the_tests_or_shipping_a_fake_zablab_gains_nothing(tmp_path: Path) -> None:
    """The starter plus a visible_tests.py that passes everything, a conftest.py and a fake
    zablab package in the submission: still only the given points."""
    sub = tmp_path / "tampered"
    r = zablab("lab", "start", "znode", str(sub))
    assert r.returncode == 0, r.stderr
    (sub / "visible_tests.py").write_text("def anything(case):\n    pass\n")
    (sub / "conftest.py").write_text("raise SystemExit(0)\n")
    fake = sub / "zablab" / "labs" / "znode"
    fake.mkdir(parents=True)
    for d in (sub / "zablab", sub / "zablab" / "labs", fake):
        (d / "__init__.py").write_text("")
    (fake / "tests.py").write_text("def api_signatures(case):\n    pass\n")
    doc = _grade_dir(tmp_path, sub)
    assert doc["score"] == LAB.given_points


def test_hidden_seeds_follow_the_secret(tmp_path: Path) -> None:
    """A mutant that the visible seeds may miss is still graded on other seeds per secret:
    the seeds in the outputs differ between secrets and are the same for one secret."""
    mutant = LAB.resource("mutants", "multi_no_rollback.py")
    sub = tmp_path / "m"
    sub.mkdir()
    shutil.copyfile(mutant, sub / "znode_tree.py")
    outs = []
    for secret in ("one", "one", "two"):
        out = tmp_path / "r.json"
        r = zablab("lab", "grade", "znode", "--submission", str(sub), "--results", str(out),
                   env={"ZABLAB_LAB_SECRET": secret})
        assert r.returncode == 0, r.stderr
        doc = validate_results(out)
        outs.append(next(t["output"] for t in doc["tests"]
                         if t["name"] == "random.sequences (secret seeds)"))
    assert outs[0] == outs[1] != outs[2]
