"""`zablab test --workload election`: kazoo's own Election recipe, fenced, is valid on zablab and
Apache ZooKeeper under pauses, partitions and kills; the seeded client bug `no-fencing` (a
leader that works on while cut off, without its token) is invalid, naming the two leaders."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.harness.conftest import needs_zookeeper
from zablab.cli import main
from zablab.errors import UserError
from zablab.harness.workloads import WORKLOADS, get_workload


def run(store: Path, *args: str) -> tuple[int, dict[str, Any]]:
    rc = main(
        ["test", "--workload", "election", "--nodes", "3", "--session-timeout", "1.5",
         "--store", str(store), "-q", *args]
    )  # fmt: skip
    return rc, results(store)[-1][1]


def results(store: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(run directory, the election checker's result) of every run in `store`, oldest first."""
    out = []
    for d in sorted(p for p in store.glob("*/*") if (p / "results.json").exists()):
        doc = json.loads((d / "results.json").read_text())
        out.append((d, next(c for c in doc["children"] if c["checker"] == "election")))
    return out


def test_the_registrys_election_bugs_are_the_ones_tested_here() -> None:
    from zablab.bugs import BUGS, Layer, known

    assert [n for n in known([Layer.CLIENT]) if BUGS[n].checker == "election"] == ["no-fencing"]


def test_the_workload_is_registered() -> None:
    assert "election" in WORKLOADS
    w = get_workload("election", random.Random(0), session_timeout=2.0)
    assert w.name == "election" and w.final_ops() == [("candidates", None)]
    with pytest.raises(UserError):
        get_workload("electionn", random.Random(0))


def test_without_faults_the_recipe_hands_over_and_is_valid(tmp_path: Path, no_leaks: Any) -> None:
    rc, r = run(tmp_path / "s", "--nemesis", "none", "--time-limit", "8", "--seed", "1")
    assert rc == 0 and r["valid"] is True, r
    assert r["writes-accepted"] > 20 and r["leaderships"] >= 2
    assert r["checked"] == ["safety", "orphans"]


FAULTS = ["--nemesis", "pause,partition,kill", "--nemesis-interval", "4", "--time-limit", "40"]
# A zombie needs a fault to hit the node the current leader's session is on (about one fault in
# three, and it must outlast the session); three runs of five faults make a miss of all rare.
# Every run goes: the first invalid one may be caught working while disconnected, not yet
# overlapping another leader, and the overlap is what these tests name.
BUGGY = [*FAULTS, "--client-bug", "no-fencing", "--test-count", "3"]


def overlap_named(store: Path) -> Path:
    """The first run whose overlapping leaders are named, with their times."""
    found = [(d, r) for d, r in results(store) if "overlapping-leaders" in r["failures"]]
    assert found, [r["failures"] for _, r in results(store)]
    run_dir, r = found[0]
    o = r["overlapping-leaders"][0]
    a, b = o["leaders"]
    assert a["leader"] != b["leader"] and a["last_write_s"] > b["first_write_s"]
    assert a["leader"] in o["detail"] and b["leader"] in o["detail"]
    return run_dir


@pytest.mark.slow
def test_kazoo_election_fenced_is_valid_under_faults_on_zablab(
    tmp_path: Path, no_leaks: Any
) -> None:
    rc, r = run(tmp_path / "s", *FAULTS, "--seed", "3")
    assert rc == 0 and r["valid"] is True, r
    assert r["writes-accepted"] > 100


@pytest.mark.slow
def test_no_fencing_client_bug_is_invalid_and_names_the_overlapping_leaders(
    tmp_path: Path, no_leaks: Any
) -> None:
    store = tmp_path / "s"
    rc, _ = run(store, *BUGGY, "--seed", "3")
    assert rc == 1
    assert main(["analyze", str(overlap_named(store))]) == 1  # a stored run re-checks the same


@pytest.mark.slow
@pytest.mark.zookeeper
@needs_zookeeper
def test_kazoo_election_fenced_is_valid_under_faults_on_zookeeper(
    tmp_path: Path, no_leaks: Any
) -> None:
    rc, r = run(tmp_path / "s", "--db", "zookeeper", *FAULTS, "--seed", "3")
    assert rc == 0 and r["valid"] is True, r
    assert r["writes-accepted"] > 100


@pytest.mark.slow
@pytest.mark.zookeeper
@needs_zookeeper
def test_no_fencing_client_bug_is_invalid_on_zookeeper(tmp_path: Path, no_leaks: Any) -> None:
    store = tmp_path / "s"
    rc, _ = run(store, "--db", "zookeeper", *BUGGY, "--seed", "4")
    assert rc == 1
    overlap_named(store)
