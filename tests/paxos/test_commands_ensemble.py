"""Three `zablab node` processes on Paxos in commands mode (zoo.cfg `zablab.paxos.mode`):
each server preps the decided requests itself, and kazoo sees one consistent tree — sequential
names, versions and a failed conditional write agree at every server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kazoo.exceptions import BadVersionError

from tests.node.test_server_ensemble import client, wait_for_modes
from zablab.node.commands import TAG
from zablab.node.launcher import launch_ensemble


def test_zab_with_commands_mode_is_one_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "zablab", "node", "--paxos-mode", "commands", "--port", "0"]
        + ["--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 255
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("zablab: error: Paxos mode 'commands' needs the paxos protocol")


@pytest.fixture
def commands_ensemble(tmp_path):
    nodes = launch_ensemble(
        str(tmp_path / "ensemble"),
        3,
        tick_time=100,
        extra_config="zablab.protocol=paxos\nzablab.paxos.mode=commands",
    )
    try:
        yield nodes
    finally:
        for n in nodes:
            n.kill()
        for n in nodes:
            print(f"--- {n.log_path}\n{n.tail_log(30)}")


def logged(root: Path, marker: bytes) -> bool:
    return any(marker in f.read_bytes() for f in root.rglob("*") if f.is_file())


def test_commands_ensemble_serves_kazoo_consistently(commands_ensemble, tmp_path):
    nodes = commands_ensemble
    wait_for_modes(nodes)
    zks = [client(n) for n in nodes]
    try:
        zks[0].create("/q")
        names = [zk.create("/q/n-", b"", sequence=True) for zk in zks]
        assert names == [f"/q/n-{i:010d}" for i in range(3)]
        zks[1].set("/q", b"one")
        with pytest.raises(BadVersionError):
            zks[2].set("/q", b"stale", version=0)
        for zk in zks:
            zk.sync("/q")
            data, stat = zk.get("/q")
            assert (data, stat.version, stat.numChildren) == (b"one", 1, 3)
            assert sorted(zk.get_children("/q")) == [n.rsplit("/", 1)[1] for n in names]
    finally:
        for zk in zks:
            zk.stop()
            zk.close()
    # what the acceptors logged are the clients' requests, not the leader's txns
    assert logged(tmp_path / "ensemble", TAG)
