"""Kazoo's own suite passes against zablab exactly where it passes on ZooKeeper.

The suite runs in subprocesses (pytest -p tests.kazoo_plugin) against both servers at once: its
tests mostly wait on the network, so two runs take hardly longer than one.
"""

from __future__ import annotations

import pytest

from tests.kazoo_suite import MIN_PASSED, SuiteRun, run_suites, tail

pytestmark = pytest.mark.zookeeper


@pytest.fixture(scope="module")
def kazoo_runs(request, apache_zk) -> dict[str, SuiteRun]:
    hosts = {"zookeeper": apache_zk.hosts}
    try:
        hosts["zablab"] = request.getfixturevalue("zablab_node").address
    except pytest.skip.Exception:
        pass
    return run_suites(hosts)


def test_kazoo_suite_baseline_zookeeper(kazoo_runs):
    """The plugin itself: against ZooKeeper every selected test passes."""
    zk = kazoo_runs["zookeeper"]
    failed = sorted(zk.with_outcome("failed") | zk.with_outcome("error"))
    assert not failed, tail(zk.output)
    assert len(zk.with_outcome("passed")) >= MIN_PASSED, tail(zk.output)


def test_kazoo_suite_same_pass_set(kazoo_runs):
    if "zablab" not in kazoo_runs:
        pytest.skip("`zablab node` is not available in this checkout")
    zk, zb = kazoo_runs["zookeeper"], kazoo_runs["zablab"]
    zk_passed, zb_passed = zk.with_outcome("passed"), zb.with_outcome("passed")
    missing = sorted(zk_passed - zb_passed)
    assert not missing, f"pass on ZooKeeper, not on zablab: {missing}\n{tail(zb.output)}"
    assert zb_passed == zk_passed, sorted(zb_passed ^ zk_passed)
