"""Kazoo's own suite against a 3-node zablab ensemble, on each
replication protocol (zoo.cfg `zablab.protocol`).

kazoo's tests get the ensemble as one multi-host connection string (tests/kazoo_plugin.py splits
it into stand-in cluster members), with the deselection list of the standalone run. Against
standalone ZooKeeper 3.8 every selected test passes, so here too none may fail.
"""

from __future__ import annotations

import pytest

from tests.kazoo_suite import MIN_PASSED, run_suites, tail
from zablab.node.launcher import NodeProcess, launch_ensemble

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("protocol", ["zab", "paxos"])
def test_kazoo_suite_against_three_node_ensemble(tmp_path, node_logs, protocol):
    nodes = launch_ensemble(
        str(tmp_path / "ensemble"), 3, tick_time=200, extra_config=f"zablab.protocol={protocol}"
    )
    node_logs.extend(nodes)
    hosts = ",".join(n.address for n in nodes)
    run = run_suites({"ensemble": hosts})["ensemble"]
    out = tail(run.output)
    assert run.outcomes, out
    bad = sorted(run.with_outcome("failed") | run.with_outcome("error"))
    assert not bad, f"failed on the ensemble: {bad}\n{out}"
    skipped = sorted(run.with_outcome("skipped"))
    assert not skipped, f"skipped on the ensemble, passed on ZooKeeper: {skipped}"
    assert len(run.with_outcome("passed")) >= MIN_PASSED, out
    assert all(n.alive() for n in nodes), "a node died during the suite"


@pytest.fixture
def node_logs():
    """Kill the ensemble afterwards; print each node's log tail (pytest shows it on failure)."""
    nodes: list[NodeProcess] = []
    try:
        yield nodes
    finally:
        for n in nodes:
            n.kill()
        for n in nodes:
            print(f"--- {n.log_path}\n{n.tail_log(40)}")
