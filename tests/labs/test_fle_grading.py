"""The fle grader, proven: the reference gets full marks, the untouched starter only the
given points, every mutant loses points in the test whose name says why, and the simulated
checks the sim tests add (the leader's history, one leader per epoch, a leader in time) catch
what they claim."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from tests.labs.conftest import validate_results, zablab
from zablab.labs.fle.harness import ObservedSimulation, observe
from zablab.labs.registry import get_lab
from zablab.sim import SimConfig

LAB = get_lab("fle")
MUTANTS = sorted(p.stem for p in LAB.resource("mutants").glob("*.py") if p.stem != "__init__")


def _grade(tmp_path: Path, source: Path) -> dict:
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copyfile(source, sub / "election.py")
    out = tmp_path / "results.json"
    r = zablab(
        "lab", "grade", "fle", "--submission", str(sub), "--results", str(out), "--secret", "s"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return validate_results(out)


def _failed(doc: dict) -> set[str]:
    return {t["name"] for t in doc["tests"] if t["status"] == "failed"}


def test_reference_gets_full_marks(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("reference", "election.py"))
    assert _failed(doc) == set()
    assert doc["score"] == LAB.max_points
    hidden = {t["name"] for t in doc["tests"] if t["visibility"] == "after_due_date"}
    assert hidden == {"sim.random_schedules (secret seeds)", "sim.no_lost_write (secret seeds)"}


def test_starter_gets_only_the_given_points(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("starter", "election.py"))
    assert doc["score"] == LAB.given_points == 2
    assert {t["name"] for t in doc["tests"] if t["status"] == "passed"} == {"api.signatures"}
    order = next(t for t in doc["tests"] if t["name"] == "order.epoch_first")
    assert "not implemented yet: better" in order["output"]
    assert "replay: zablab lab test fle --dir" in order["output"]


@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_mutant_loses_points_in_the_test_named_for_it(tmp_path: Path, mutant: str) -> None:
    expected = importlib.import_module(f"zablab.labs.fle.mutants.{mutant}").EXPECTED_FAILURE
    doc = _grade(tmp_path, LAB.resource("mutants", f"{mutant}.py"))
    assert expected in _failed(doc)
    assert doc["score"] <= LAB.max_points - LAB.test(expected).points


def test_mutants_cover_the_known_wrong_solutions() -> None:
    assert set(MUTANTS) == {
        "id_before_zxid",
        "ignores_round",
        "no_finalize_wait",
        "counts_lower_round",
    }


def test_leader_history_check_catches_a_history_blind_election() -> None:
    """smallest-id elects stale leaders (and turns off discovery's check): the observed run
    reports a leader whose epoch quorum holds newer history; fle on the same seed is clean."""
    found = []
    for seed in range(40):
        bad, _ = observe(seed, SimConfig(election="smallest-id"), 2500)
        if any("not the newest history" in b for b in bad):
            found.append(seed)
            break
    assert found, "no stale leader in 40 smallest-id seeds"
    bad, summary = observe(found[0], SimConfig(), 2500)
    assert bad == [], summary


def test_leader_bound_and_two_leaders_per_epoch_are_reported() -> None:
    bad, _ = observe(1, SimConfig(), 0)
    assert any(b.startswith("no leader within 0 ms") for b in bad)
    sim = ObservedSimulation(1, SimConfig())
    sim.leaders[7] = 3
    sim._check_leader(1, 7)
    assert "two leaders established in epoch 7: 3 and 1" in sim.observed.violations


def test_a_smallest_id_submission_fails_the_simulated_tests(tmp_path: Path) -> None:
    """A compute cluster's rule handed in as the election (lowest id wins): the unit tests of
    the order catch it, and in the replica it never settles (discovery keeps stepping its stale
    leader down), so both sim tests fail."""
    src = tmp_path / "smallest.py"
    src.write_text("from zablab.node.zab.elections.smallest_id import SmallestId as Election\n")
    failed = _failed(_grade(tmp_path, src))
    assert {"order.zxid_before_id", "sim.random_schedules", "sim.no_lost_write"} <= failed
