"""Acceptance 2: every seeded bug is caught, as a safety violation, within a bounded number
of seeds, and the failing seed prints the command that replays it."""

import subprocess
import sys

import pytest

from zablab.node.zab import BUGS
from zablab.sim import SimConfig, simulate

BOUND = 150  # seeds tried per bug and cluster size


def first_caught(bug: str, nodes: int):
    for seed in range(BOUND):
        r = simulate(seed, SimConfig(nodes=nodes, bugs=(bug,)))
        if r.safety_violations:
            return r
    return None


@pytest.mark.parametrize("nodes", [3, 5])
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_bug_is_caught(bug, nodes):
    r = first_caught(bug, nodes)
    assert r is not None, f"{bug} survived {BOUND} seeds on {nodes} replicas"
    assert f"--bug {bug}" in r.summary() and f"--seed {r.seed}" in r.summary()
    # The same seed without the bug is clean: the violation is the bug's doing.
    assert simulate(r.seed, SimConfig(nodes=nodes)).ok


def test_replay_command_reproduces_the_failure():
    r = first_caught("commit-without-quorum", 3)
    assert r is not None
    cmd = r.config.replay_command(r.seed).split()
    assert cmd[:3] == ["python", "-m", "zablab.sim"]
    out = subprocess.run([sys.executable, *cmd[1:]], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "VIOLATION" in out.stdout and r.trace_hash[:12] in out.stdout
    assert "replay: python -m zablab.sim" in out.stdout


def test_unknown_bug_is_one_clear_error():
    out = subprocess.run(
        [sys.executable, "-m", "zablab.sim", "--seed", "1", "--bug", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "invalid choice" in out.stderr
    assert "Traceback" not in out.stderr
