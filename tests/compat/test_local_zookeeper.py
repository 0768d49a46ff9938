"""LocalZooKeeper: standalone start/stop with cleanup, and the ensemble config on real JVMs."""

from __future__ import annotations

import pytest
from kazoo.client import KazooClient

from zablab.apache import LocalZooKeeper, Member, four_letter
from zablab.apache.local import HOST
from zablab.ports import free_port

pytestmark = pytest.mark.zookeeper


def test_standalone_serves_and_cleans_up(zookeeper_installed):
    zk = LocalZooKeeper(tick_time=500)
    try:
        zk.start()
        assert "Mode: standalone" in four_letter(HOST, zk.port, "srvr")
        client = KazooClient(zk.hosts)
        client.start(timeout=20)
        try:
            client.create("/x", b"1")
            assert client.get("/x")[0] == b"1"
        finally:
            client.stop()
            client.close()
        process = zk.process
    finally:
        zk.close()
    assert process is not None and process.poll() is not None
    assert not zk.dir.exists()


def test_three_member_ensemble_from_generated_config(zookeeper_installed):
    members = tuple(Member(i, HOST, free_port(), free_port(), free_port(), HOST) for i in (1, 2, 3))
    nodes = [
        LocalZooKeeper(tick_time=500, port=m.client_port or 0, server_id=m.id, members=members)
        for m in members
    ]
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_serving(60)
        modes = sorted(
            line.split(": ")[1]
            for node in nodes
            for line in four_letter(HOST, node.port, "srvr").splitlines()
            if line.startswith("Mode: ")
        )
        assert modes == ["follower", "follower", "leader"]
        first, last = KazooClient(nodes[0].hosts), KazooClient(nodes[2].hosts)
        for c in (first, last):
            c.start(timeout=30)
        try:
            first.create("/replicated", b"yes")
            last.sync("/replicated")
            assert last.get("/replicated")[0] == b"yes"
        finally:
            for c in (first, last):
                c.stop()
                c.close()
    finally:
        for node in nodes:
            node.close()
