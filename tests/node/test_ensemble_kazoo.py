"""Acceptance 4 of the ZAB issue: kazoo's own suite against a 3-node zablab ensemble.

kazoo's tests get the ensemble as one multi-host connection string (tests/kazoo_plugin.py splits
it into stand-in cluster members), with the deselection list of the standalone run. Against
standalone ZooKeeper 3.8 every selected test passes, so here too none may fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from zablab.node.launcher import NodeProcess, launch_ensemble

REPO = Path(__file__).resolve().parents[2]
MODULES = (
    "test_client",
    "test_connection",
    "test_lock",
    "test_watchers",
    "test_cache",
    "test_lease",
    "test_queue",
    "test_barrier",
    "test_partitioner",
    "test_counter",
    "test_party",
    "test_election",
)
# Standalone ZooKeeper 3.8 passes 235 with the deselection list (docs/compat.md); far fewer
# means the plugin or the list broke and the run tested little.
MIN_PASSED = 230

pytestmark = pytest.mark.slow


def outcomes(junit: Path) -> dict[str, str]:
    """`Class::test` -> passed | failed | error | skipped."""
    result: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        result[f"{case.get('classname', '')}::{case.get('name', '')}"] = outcome
    return result


def run_kazoo_suite(hosts: str, junit: Path, timeout: float = 900) -> str:
    env = dict(os.environ, ZABLAB_KAZOO_HOSTS=hosts)
    env.pop("CI", None)  # with CI set kazoo sleeps longer in some tests
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tests.kazoo_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--timeout",
        "120",
        f"--junitxml={junit}",
        "--pyargs",
        *(f"kazoo.tests.{m}" for m in MODULES),
    ]
    proc = subprocess.run(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.stdout


def test_kazoo_suite_against_three_node_ensemble(tmp_path, node_logs):
    nodes = launch_ensemble(str(tmp_path / "ensemble"), 3, tick_time=200)
    node_logs.extend(nodes)
    hosts = ",".join(n.address for n in nodes)
    junit = tmp_path / "kazoo.xml"
    output = run_kazoo_suite(hosts, junit)
    tail = "\n".join(output.splitlines()[-60:])
    assert junit.exists(), tail
    result = outcomes(junit)
    bad = sorted(t for t, o in result.items() if o in ("failed", "error"))
    assert not bad, f"failed on the ensemble: {bad}\n{tail}"
    passed = [t for t, o in result.items() if o == "passed"]
    assert len(passed) >= MIN_PASSED, tail
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
