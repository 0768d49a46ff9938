"""The paxos grader, proven: the reference gets full marks, the untouched starter only the
given points, every mutant loses points in the test whose name says why, and the Paxos
properties the simulated tests watch (agreement, validity, no acknowledged write lost) catch
what they claim."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from tests.labs.conftest import grade, zablab
from zablab.labs.paxos.harness import PaxosSimulation, paxos_config, run, student_paxos
from zablab.labs.registry import get_lab
from zablab.node.replica import RoleChange

LAB = get_lab("paxos")
MUTANTS = sorted(p.stem for p in LAB.resource("mutants").glob("*.py") if p.stem != "__init__")


def _grade(tmp_path: Path, source: Path) -> dict:
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copyfile(source, sub / "paxos.py")
    return grade("paxos", sub, tmp_path / "results.json", secret="s")


def _failed(doc: dict) -> set[str]:
    return {t["name"] for t in doc["tests"] if t["status"] == "failed"}


def test_reference_gets_full_marks(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("reference", "paxos.py"))
    assert _failed(doc) == set()
    assert doc["score"] == LAB.max_points
    hidden = {t["name"] for t in doc["tests"] if t["visibility"] == "after_due_date"}
    assert hidden == {
        "sim.random_schedules (secret seeds)",
        "sim.stable_leader (secret seeds)",
        "search.schedules (secret seeds)",
    }


def test_starter_gets_only_the_given_points(tmp_path: Path) -> None:
    doc = _grade(tmp_path, LAB.resource("starter", "paxos.py"))
    assert doc["score"] == LAB.given_points == 2
    assert {t["name"] for t in doc["tests"] if t["status"] == "passed"} == {"api.signatures"}
    prepare = next(t for t in doc["tests"] if t["name"] == "prepare.rejects_lower")
    assert "not implemented yet: on_prepare" in prepare["output"]
    assert "replay: zablab lab test paxos --dir" in prepare["output"]


@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_mutant_loses_points_in_the_test_named_for_it(tmp_path: Path, mutant: str) -> None:
    expected = importlib.import_module(f"zablab.labs.paxos.mutants.{mutant}").EXPECTED_FAILURE
    doc = _grade(tmp_path, LAB.resource("mutants", f"{mutant}.py"))
    failed = _failed(doc)
    assert expected in failed
    assert doc["score"] <= LAB.max_points - LAB.test(expected).points
    # and the whole replica in the simulator shows what the mistake does
    assert any(name.startswith(("sim.", "search.")) for name in failed), failed


def test_mutants_cover_the_known_wrong_solutions() -> None:
    assert set(MUTANTS) == {
        "accepts_lower_ballot",
        "promise_without_accepted",
        "ignores_accepted",
        "replies_before_sync",
    }


def test_a_leader_that_forgets_phase_1_is_caught_in_the_simulator() -> None:
    """ignores_accepted in the whole replica: a new leader re-proposes nothing, so its writes
    overwrite chosen values; the random runs report lost writes and the visible sim test's
    output names a replay command. The reference on the same seeds is clean."""
    mutant = importlib.import_module("zablab.labs.paxos.mutants.ignores_accepted")
    with student_paxos(mutant):
        bad = [run(s, paxos_config()) for s in range(8)]
    caught = [r for r in bad if r.violations]
    assert caught and any(v.startswith("lost write:") for r in caught for v in r.violations)
    assert caught[0].replay.startswith("zablab sim --seed ")
    assert all(not run(s, paxos_config()).violations for s in range(8))


def test_agreement_and_validity_are_reported() -> None:
    sim = PaxosSimulation(1, paxos_config())
    sim.origin[b"w1@1"] = 1
    sim._decided(1, 5, 0x100000005, b"w1@1")
    sim._decided(2, 5, 0x100000005, b"w1@1")  # the same value again: fine
    assert sim.paxos_violations == []
    sim._decided(3, 5, 0, b"")
    sim._decided(2, 6, 0x100000006, b"never-written")
    assert sim.paxos_violations == [
        "agreement: slot 5 decided w1@1 at node 1 but a no-op at node 3",
        "validity: node 2 decided never-written at slot 6, which no client wrote",
    ]


def test_a_leader_establishing_without_an_acked_write_is_reported() -> None:
    sim = PaxosSimulation(1, paxos_config())
    sim.boot()
    sim.acked[b"w9@2"] = 0
    r = sim.nodes[1].replica
    r.lead = type("L", (), {"round": 4})()  # only its round is read
    sim.established(1, [RoleChange("FOLLOWING", 4, 2)])
    assert sim.paxos_violations == []
    sim.established(1, [RoleChange("LEADING", 4, 1)])
    assert sim.paxos_violations == [
        "lost write: w9@2 was acknowledged but node 1 established itself as leader of round 4 "
        "without it"
    ]


def test_a_failing_simulated_case_replays_with_the_printed_command(tmp_path: Path) -> None:
    """The simulated tests are deterministic: the printed replay command (one seed) fails
    the same way, with the same violations."""
    w = tmp_path / "w"
    w.mkdir()
    shutil.copyfile(LAB.resource("mutants", "promise_without_accepted.py"), w / "paxos.py")
    r = zablab("lab", "test", "paxos", "--dir", str(w), "--case", "sim.random_schedules")
    assert r.returncode == 1
    replay = next(ln.split("replay: ", 1)[1] for ln in r.stdout.splitlines() if "replay: " in ln)
    assert "--case sim.random_schedules --seed " in replay
    again = zablab(*replay.split()[1:])
    assert again.returncode == 1

    def found(out: str) -> list[str]:
        return [ln.strip() for ln in out.splitlines() if ln.strip().startswith(("lost", "agree"))]

    assert found(again.stdout) == found(r.stdout) != []
