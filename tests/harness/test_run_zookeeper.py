"""End to end against real Apache ZooKeeper: `zablab test` with partitions and kills is valid,
and a deliberately broken client is caught with a failure view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.conftest import assert_valid, needs_zookeeper
from zablab.cli import main

pytestmark = [pytest.mark.zookeeper, needs_zookeeper]


def latest(store: Path) -> Path:
    return store / (store / "latest").read_text().strip()


def test_three_nodes_with_partitions_and_kills_is_valid(tmp_path, no_leaks):
    store = tmp_path / "store"
    rc = main(
        [
            "test",
            "--db",
            "zookeeper",
            "--nodes",
            "3",
            "--nemesis",
            "partition,kill",
            "--nemesis-interval",
            "4",
            "--time-limit",
            "20",
            "--seed",
            "5",
            "--store",
            str(store),
            "-q",
        ]
    )
    run = latest(store)
    assert rc in (0, 1)
    assert_valid(json.loads((run / "results.json").read_text()))
    history = [json.loads(line) for line in (run / "history.jsonl").open()]
    nemesis = {op["f"] for op in history if op["process"] == "nemesis"}
    assert {"start-partition", "stop-partition"} <= nemesis or {"kill", "restart"} <= nemesis
    assert any(op.get("final") and op["type"] == "ok" for op in history)
    test = json.loads((run / "test.json").read_text())
    assert test["seed"] == 5 and test["options"]["nemesis"] == "partition,kill"
    assert (run / "report.html").stat().st_size > 10_000
    assert (run / "nodes" / "n1" / "zookeeper.log").exists()


def test_broken_client_that_drops_writes_is_reported_invalid(tmp_path, no_leaks):
    store = tmp_path / "store"
    rc = main(
        [
            "test",
            "--db",
            "zookeeper",
            "--nodes",
            "1",
            "--nemesis",
            "none",
            "--time-limit",
            "4",
            "--concurrency",
            "3",
            "--seed",
            "1",
            "--client-bug",
            "lost-write",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert rc == 1
    run = latest(store)
    results = json.loads((run / "results.json").read_text())
    lin = results["children"][0]["children"][0]
    assert lin["checker"] == "linearizable" and lin["valid"] is False
    assert lin["op"]["describe"]  # the failure view points at the offending op
    assert (run / "failure-linearizable.html").exists()
    assert (
        "Not linearizable" in (run / "report.html").read_text()
        or "failure view" in (run / "report.html").read_text()
    )
    # re-checking the stored run gives the same verdict
    assert main(["analyze", str(run)]) == 1


def test_broken_client_serving_stale_reads_breaks_zookeepers_session_guarantee(tmp_path, no_leaks):
    store = tmp_path / "store"
    rc = main(
        ["test", "--db", "zookeeper", "--nodes", "1", "--nemesis", "none", "--time-limit", "4",
         "--concurrency", "3", "--seed", "2", "--client-bug", "stale-read", "--store", str(store),
         "-q"]
    )  # fmt: skip
    assert rc == 1
    results = json.loads((latest(store) / "results.json").read_text())
    by_name = {c["checker"]: c for c in results["children"][0]["children"]}
    assert by_name["zookeeper"]["valid"] is False
