"""Kazoo's own suite against a 3-node zablab ensemble, on each replication protocol (zoo.cfg
`zablab.protocol`) and each Paxos mode (tests/paxos/modes.py).

kazoo's tests get the ensemble as one multi-host connection string (tests/kazoo_plugin.py splits
it into stand-in cluster members), with the deselection list of the standalone run. Against
standalone ZooKeeper 3.8 every selected test passes, so here too none may fail. The twelve
modules take minutes per side, so they are slow-marked; the default suite runs most modules
(tests/kazoo_suite.SUBSET) on Paxos, the protocol the rest of the suite exercises least.
"""

from __future__ import annotations

import pytest

from tests.kazoo_suite import MIN_PASSED, MODULES, SUBSET, run_suites, tail
from tests.paxos.modes import MODES, zoo_cfg
from zablab.node.launcher import NodeProcess, launch_ensemble

# SUBSET selects 188 of the 235 tests with this kazoo; far fewer passing means the selection
# broke, not that a server regressed.
MIN_PASSED_SUBSET = 185

SIDES = [
    pytest.param("zablab.protocol=zab\n", id="zab"),
    *(pytest.param(zoo_cfg(m), id=f"paxos-{m}") for m in MODES),
]


def run_on_ensemble(
    tmp_path, node_logs: list[NodeProcess], config: str, modules: tuple[str, ...], least: int
) -> None:
    nodes = launch_ensemble(str(tmp_path / "ensemble"), 3, tick_time=200, extra_config=config)
    node_logs.extend(nodes)
    hosts = ",".join(n.address for n in nodes)
    run = run_suites({"ensemble": hosts}, modules=modules)["ensemble"]
    out = tail(run.output)
    assert run.outcomes, out
    bad = sorted(run.with_outcome("failed") | run.with_outcome("error"))
    assert not bad, f"failed on the ensemble: {bad}\n{out}"
    skipped = sorted(run.with_outcome("skipped"))
    assert not skipped, f"skipped on the ensemble, passed on ZooKeeper: {skipped}"
    assert len(run.with_outcome("passed")) >= least, out
    assert all(n.alive() for n in nodes), "a node died during the suite"


@pytest.mark.slow
@pytest.mark.parametrize("config", SIDES)
def test_kazoo_suite_against_three_node_ensemble(tmp_path, node_logs, config):
    run_on_ensemble(tmp_path, node_logs, config, MODULES, MIN_PASSED)


@pytest.mark.parametrize("mode", MODES)
def test_most_of_kazoo_suite_against_three_node_paxos_ensemble(tmp_path, node_logs, mode):
    run_on_ensemble(tmp_path, node_logs, zoo_cfg(mode), SUBSET, MIN_PASSED_SUBSET)


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
