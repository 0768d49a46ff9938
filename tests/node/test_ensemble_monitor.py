"""mntr on an ensemble: the leader reports its learners as ZooKeeper's leader does."""

from __future__ import annotations

import socket
import time

from zablab.node.launcher import launch_ensemble


def mntr(node) -> dict[str, str]:
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        s.sendall(b"mntr")
        text = b""
        while chunk := s.recv(65536):
            text += chunk
    return dict(line.split("\t", 1) for line in text.decode().splitlines())


def test_leader_reports_learners_and_synced_followers(tmp_path):
    nodes = launch_ensemble(str(tmp_path), 3, tick_time=100, fsync=False)
    try:
        deadline = time.monotonic() + 20
        while True:
            rows = [mntr(n) for n in nodes]
            states = sorted(r["zk_server_state"] for r in rows)
            leader = [r for r in rows if r["zk_server_state"] == "leader"]
            if (
                states == ["follower", "follower", "leader"]
                and leader[0]["zk_synced_followers"] == "2"
            ):
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.2)
        assert leader[0]["zk_learners"] == "2"
        assert leader[0]["zk_pending_syncs"] == "0"
        for r in rows:
            if r["zk_server_state"] == "follower":
                assert "zk_learners" not in r  # a leader's gauge, as in ZooKeeper
    finally:
        for n in nodes:
            n.stop()
