"""A failing seed prints the command that replays it, protocol and bugs included."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zablab.errors import UserError
from zablab.sim import SimConfig, simulate


def test_replay_command_reproduces_the_failure(tmp_path) -> None:
    r = next(
        r
        for r in (simulate(s, SimConfig(bugs=("commit-without-quorum",))) for s in range(150))
        if r.safety_violations
    )
    cmd = r.config.replay_command(r.seed).split()
    assert cmd[:3] == ["python", "-m", "zablab.sim"]
    out = subprocess.run(
        [sys.executable, *cmd[1:]], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 1
    assert "VIOLATION" in out.stdout and r.trace_hash[:12] in out.stdout
    assert "rerun: python -m zablab.sim" in out.stdout
    assert "replay: zablab sim --replay store/sim/seed-" in out.stdout


def test_protocol_is_part_of_the_config_and_checked() -> None:
    assert SimConfig().protocol == "zab"
    cfg = SimConfig(protocol="zab", nodes=5)
    assert "--protocol" not in cfg.replay_command(1)  # the default is left out
    with pytest.raises(
        UserError, match="unknown replication protocol 'raft'; known protocols: zab"
    ):
        SimConfig(protocol="raft")


def test_unknown_protocol_on_the_command_line_is_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zablab.sim", "--seed", "1", "--protocol", "raft"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 255
    assert out.stderr.strip().splitlines() == [
        "zablab: error: unknown replication protocol 'raft'; known protocols: zab, paxos."
    ]
