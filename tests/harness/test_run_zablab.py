"""End to end against zablab's own server (a single node until ZAB replication lands)."""

from __future__ import annotations

import json

from tests.harness.conftest import assert_valid
from zablab.cli import main


def test_single_zablab_node_with_kills_and_pauses_is_valid(tmp_path, no_leaks):
    store = tmp_path / "store"
    rc = main(
        [
            "test",
            "--db",
            "zablab",
            "--nodes",
            "1",
            "--nemesis",
            "kill,pause",
            "--nemesis-interval",
            "2",
            "--time-limit",
            "8",
            "--seed",
            "3",
            "--store",
            str(store),
            "-q",
        ]
    )
    run = store / (store / "latest").read_text().strip()
    assert rc in (0, 1)
    assert_valid(json.loads((run / "results.json").read_text()))
    fs = [json.loads(line)["f"] for line in (run / "history.jsonl").open()]
    assert "kill" in fs or "pause" in fs
    assert (run / "nodes" / "n1" / "zablab-node.log").exists()


def test_set_workload_on_zablab(tmp_path, no_leaks):
    store = tmp_path / "store"
    rc = main(
        [
            "test",
            "--db",
            "zablab",
            "--nodes",
            "1",
            "--workload",
            "set",
            "--nemesis",
            "kill",
            "--nemesis-interval",
            "2",
            "--time-limit",
            "6",
            "--seed",
            "4",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert rc == 0


def test_three_zablab_nodes_with_partitions_and_kills_are_valid_with_zab_traces(tmp_path, no_leaks):
    store = tmp_path / "store"
    rc = main(
        ["test", "--db", "zablab", "--nodes", "3", "--nemesis", "partition,kill",
         "--nemesis-interval", "3", "--time-limit", "15", "--seed", "6", "--store", str(store),
         "-q"]
    )  # fmt: skip
    run = store / (store / "latest").read_text().strip()
    results = json.loads((run / "results.json").read_text())
    assert rc in (0, 1)
    assert_valid(results)
    checkers = {c["checker"] for c in results["children"]}
    assert "zab" in checkers  # traces were fetched from every node and checked
    assert all((run / "nodes" / n / "trace.jsonl").exists() for n in ("n1", "n2", "n3"))
