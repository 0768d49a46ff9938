"""Shared fixtures: `zablab_server` ("127.0.0.1:PORT" of a fresh `zablab node`), `zablab_node`
(its NodeProcess) and `zablab_ensemble` (three ZAB-replicated nodes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zablab.node.launcher import NodeProcess, launch_ensemble, launch_node


@pytest.fixture
def zablab_node(tmp_path) -> Iterator[NodeProcess]:
    """A running node on a free port with a temp dataDir; stopped (and killed) afterwards."""
    node = launch_node(str(tmp_path / "data"), tick_time=200)
    try:
        yield node
    finally:
        node.kill()


@pytest.fixture
def zablab_server(zablab_node: NodeProcess) -> str:
    return zablab_node.address


@pytest.fixture
def zablab_ensemble(tmp_path) -> Iterator[list[NodeProcess]]:
    """Three nodes replicated by ZAB (tick 100 ms), killed afterwards."""
    nodes = launch_ensemble(str(tmp_path / "ensemble"), 3, tick_time=100)
    try:
        yield nodes
    finally:
        for n in nodes:
            n.kill()
