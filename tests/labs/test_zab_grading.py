"""The zab grader, proven: the reference gets full marks, the untouched starter only the
given points, every mutant (one per seeded bug of the zoo the rules can carry) fails both the
unit test and the scenario named for it, and the scenarios and adapters catch what they claim."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from tests.labs.conftest import grade
from zablab.labs.registry import get_lab
from zablab.labs.runner import run_test
from zablab.labs.zab.harness import Director, student_rules
from zablab.labs.zab.scenarios import SCENARIOS
from zablab.node.zab import rules
from zablab.node.zab.rules import LeaderLog, SyncMode, SyncPlan

LAB = get_lab("zab")
MUTANTS = sorted(p.stem for p in LAB.resource("mutants").glob("*.py") if p.stem != "__init__")


def _sub(tmp_path: Path, source: Path) -> Path:
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copyfile(source, sub / "rules.py")
    return sub


def _grade(tmp_path: Path, source: Path) -> dict:
    return grade("zab", _sub(tmp_path, source), tmp_path / "results.json", secret="s")


def test_reference_gets_full_marks(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("reference", "rules.py"))
    assert {t["name"] for t in doc["tests"] if t["status"] == "failed"} == set()
    assert doc["score"] == LAB.max_points
    hidden = {t["name"] for t in doc["tests"] if t["visibility"] == "after_due_date"}
    assert hidden == {"sim.random_schedules (secret seeds)", "sim.search (secret seeds)"}


def test_starter_gets_only_the_given_points(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("starter", "rules.py"))
    assert doc["score"] == LAB.given_points == 2
    assert {t["name"] for t in doc["tests"] if t["status"] == "passed"} == {"api.signatures"}
    sync = next(t for t in doc["tests"] if t["name"] == "sync.diff_prefix")
    assert "not implemented yet: choose_sync" in sync["output"]
    assert "replay: zablab lab test zab --dir" in sync["output"]


@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_mutant_fails_the_tests_named_for_it(tmp_path: Path, mutant: str) -> None:
    """Run as the grader runs them (a child process per test, the visible seeds); failing
    them costs at least their points."""
    expected = importlib.import_module(f"zablab.labs.zab.mutants.{mutant}").EXPECTED_FAILURES
    sub = _sub(tmp_path, LAB.resource("mutants", f"{mutant}.py"))
    from zablab.labs.engine import visible_seeds

    for name in expected:
        test = LAB.test(name)
        outcome = run_test(LAB, test, sub, visible_seeds(test))
        assert not outcome.passed, f"{mutant} passes {name}"
        assert "Traceback" not in outcome.output and "raised" not in outcome.output
    if mutant.startswith(("ack", "commit", "epoch")):  # a write is lost, not only a property
        scenario = next(n for n in expected if n.startswith("scenario."))
        out = run_test(LAB, LAB.test(scenario), sub, [0]).output
        assert "lost write" in out and "what the scenario did" in out, out
        picture = sub / f"{scenario.replace('.', '-')}.html"
        assert f"its messages, step by step: open {picture}" in out, out
        assert '"violation": ' in picture.read_text()  # the diagram marks the violating step


def test_mutants_cover_the_seeded_bugs() -> None:
    assert set(MUTANTS) == {
        "ack_before_fsync",
        "commit_without_quorum",
        "diff_without_trunc",
        "epoch_before_history",
    }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_pass_on_the_reference_rules(name: str) -> None:
    d = SCENARIOS[name]()
    assert d.violations() == [] and d.st.converged()
    assert any("crash" in line for line in d.story)


def test_director_reports_a_scenario_that_cannot_go_on() -> None:
    """Rules that never ACK NEWLEADER: no leader is ever established, and the scenario says
    what it was waiting for instead of passing."""
    silent = rules.RuleSet(rules.choose_sync, lambda log: rules.FollowerStep(), rules.commit_point)
    with rules.plugged(silent), pytest.raises(AssertionError, match="stuck waiting for a leader"):
        SCENARIOS["commit_quorum"]()
    assert Director().leader() is None  # booted, nothing delivered yet


def test_adapter_rejects_a_trunc_outside_the_leaders_history() -> None:
    class Wrong:
        @staticmethod
        def choose_sync(peer_last: int, log: LeaderLog) -> SyncPlan:
            return SyncPlan(SyncMode.TRUNC, 12345)

        follower_step = staticmethod(rules.follower_step)

        @staticmethod
        def commit_point(pending, acks, quorum):  # type: ignore[no-untyped-def]
            return 99

    checked = student_rules(Wrong)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="not in the leader's history"):
        checked.choose_sync(5, LeaderLog(0, (1, 2), 4))
    with pytest.raises(AssertionError, match="not one of the pending zxids"):
        checked.commit_point([1, 2], {1: 2, 2: 2}, 2)
