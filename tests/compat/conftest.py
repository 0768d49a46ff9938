"""Servers for the compatibility tests: Apache ZooKeeper and a zablab node, one each per session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from zablab.apache import LocalZooKeeper
from zablab.apache.classpath import check_installed, find_java
from zablab.errors import UserError
from zablab.node.launcher import NodeProcess, launch_node


def zookeeper_available() -> str | None:
    """None when Apache ZooKeeper can run here, else the reason it cannot."""
    try:
        check_installed()
        find_java()
    except UserError as e:
        return str(e)
    return None


@pytest.fixture(scope="session")
def zookeeper_installed() -> None:
    reason = zookeeper_available()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def apache_zk() -> Iterator[LocalZooKeeper]:
    reason = zookeeper_available()
    if reason:
        pytest.skip(reason)
    zk = LocalZooKeeper()
    try:
        zk.start()
        yield zk
    finally:
        zk.close()


@pytest.fixture(scope="session")
def zablab_node() -> Iterator[NodeProcess]:
    """One `zablab node` (fsync on, default tick) on a free port for the whole session."""
    data_dir = tempfile.mkdtemp(prefix="zablab-compat-")
    node = None
    try:
        node = launch_node(data_dir)
        yield node
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
