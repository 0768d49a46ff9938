"""Three `zablab node` processes replicated by Multi-Paxos (zoo.cfg `zablab.protocol=paxos`)
serve kazoo: writes at any node are read back at every node, and a killed leader is replaced."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.node.test_server_ensemble import client, mode, wait_for_modes
from zablab.checkers.zab import check_zab_trace, load_zab_trace
from zablab.node.launcher import launch_ensemble

# Paxos's own properties, which the ZAB checker must find kept on the ensemble's traces
PAXOS_PROPERTIES = ("integrity", "agreement", "one-leader-per-epoch")


def test_unknown_protocol_flag_is_one_line(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "zablab",
            "node",
            "--protocol",
            "raft",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 255
    assert out.stderr.strip().splitlines() == [
        "zablab: error: unknown replication protocol 'raft'; known protocols: zab, paxos."
    ]


@pytest.fixture
def paxos_ensemble(tmp_path):
    nodes = launch_ensemble(
        str(tmp_path / "ensemble"), 3, tick_time=100, extra_config="zablab.protocol=paxos"
    )
    try:
        yield nodes
    finally:
        for n in nodes:
            n.kill()
        for n in nodes:
            print(f"--- {n.log_path}\n{n.tail_log(30)}")


@pytest.mark.slow
def test_paxos_ensemble_serves_kazoo_and_fails_over(paxos_ensemble, tmp_path):
    nodes = paxos_ensemble
    wait_for_modes(nodes)
    zks = [client(n) for n in nodes]
    try:
        for i, zk in enumerate(zks):
            zk.create(f"/p{i}", b"v%d" % i)
        for zk in zks:
            zk.sync("/")
            assert sorted(c for c in zk.get_children("/") if c.startswith("p")) == [
                "p0",
                "p1",
                "p2",
            ]
            assert zk.get("/p1")[0] == b"v1"
        zk = zks[0]
        zk.set("/p0", b"again")
        stat = zks[2].exists("/p0")
        zks[2].sync("/p0")
        assert zks[2].get("/p0")[0] == b"again"
        assert stat is not None
        leader = next(n for n in nodes if mode(n) == "leader")
        rest = [n for n in nodes if n is not leader]
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait()
        wait_for_modes(rest)
        zk2 = client(*rest)
        try:
            zk2.create("/after", b"x")
            assert zk2.get("/p2")[0] == b"v2"
            assert zk2.get("/after")[0] == b"x"
        finally:
            zk2.stop()
    finally:
        for zk in zks:
            zk.stop()
            zk.close()
    trace = load_zab_trace(tmp_path / "ensemble")
    assert sum(e["event"] == "deliver" for e in trace) >= 3 * 5  # the checker has work
    result = check_zab_trace(trace)
    kept = {c.checker: c.valid for c in result.children}
    assert all(kept[p] is True for p in PAXOS_PROPERTIES), result.children
