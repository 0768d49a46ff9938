"""A deliberately broken zablab is reported invalid, with the evidence.

The seeded bug is `commit-without-quorum`: a leader commits (and answers the client) on its own
ACK. `partition-leader` cuts the leader off; for the sync limit (5 ticks of 500 ms) it keeps
acknowledging adds that the majority, under a new leader, never sees, and when the partition
heals the old leader is truncated to the new history: those acknowledged adds are lost. The set
workload's final read finds them missing (measured: invalid in 9 of 9 runs of 15-20 s). The
same run without the bug is the control and must be valid, so the verdict comes from the bug,
not the test setup.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zablab.cli import main

BUG = "commit-without-quorum"
TRIES = 3  # seeds tried until one run is invalid; one has always been enough so far


def _run(store: Path, seed: int, db_args: str) -> tuple[int, Path]:
    args = ["test", "--nodes", "3", "--workload", "set", "--nemesis", "partition-leader"]
    args += ["--nemesis-interval", "3", "--time-limit", "15", "--concurrency", "2n"]
    args += ["--seed", str(seed), "--store", str(store), "-q"]
    if db_args:
        args += ["--db-args", db_args]
    rc = main(args)
    return rc, store / (store / "latest").read_text().strip()


def _find(result: dict[str, Any], name: str) -> dict[str, Any]:
    if result.get("checker") == name:
        return result
    for c in result.get("children", []):
        found = _find(c, name)
        if found:
            return found
    return {}


def test_leader_that_commits_without_quorum_is_caught(tmp_path, no_leaks):
    for attempt in range(TRIES):
        rc, run = _run(tmp_path / f"store{attempt}", 100 + attempt, f"--bug {BUG}")
        if rc == 1:
            break
    assert rc == 1, f"{TRIES} runs with --bug {BUG} were not reported invalid"
    results = json.loads((run / "results.json").read_text())
    assert results["valid"] is False
    sets = _find(results, "set")
    assert sets["valid"] is False and sets["lost-count"] > 0
    # the evidence points at ops: every lost element is an add the cluster acknowledged
    acked = {}
    for line in (run / "history.jsonl").open():
        op = json.loads(line)
        if op["f"] == "add" and op["type"] == "ok":
            acked[op["value"]] = op
    lost = sets["lost"]
    assert lost and all(x in acked for x in lost)
    # ... and the report shows them: the verdict and the lost elements by value
    report = (run / "report.html").read_text()
    assert "INVALID" in report.upper() and "lost" in report
    assert str(lost[0]) in report
    # the replication trace agrees: replicas delivered different histories
    assert _find(results, "agreement")["valid"] is False
    # the nodes said loudly that they were broken
    logs = [p.read_text() for p in (run / "nodes").glob("*/zablab-node.log")]
    assert logs and all(f"SEEDED BUGS ON: {BUG}" in text for text in logs)


def test_same_run_without_the_bug_is_valid(tmp_path, no_leaks):
    rc, run = _run(tmp_path / "store", 100, "")
    results = json.loads((run / "results.json").read_text())
    assert rc == 0, results
    assert _find(results, "set")["valid"] is True
    assert _find(results, "agreement")["valid"] is True
    logs = [p.read_text() for p in (run / "nodes").glob("*/zablab-node.log")]
    assert logs and not any("SEEDED BUGS ON" in text for text in logs)
