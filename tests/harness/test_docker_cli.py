"""`zablab test --backend docker`, end to end, as the nightly workflow runs it.

The commands here are the ones in .github/workflows/nightly.yml (a test there checks that); the
run must end valid with its faults in the history, and leave no container, network or volume.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zablab.harness.backends import docker_image

CLIENT = docker_image.reachable_docker_client()
pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,
    pytest.mark.skipif(CLIENT is None, reason="no Docker daemon"),
    pytest.mark.skipif(os.geteuid() != 0, reason="building the image needs root"),
]

# (db, nemesis): the nightly matrix's docker rows use the same arguments
RUNS = {
    "zookeeper": "partition,kill,pause,clock",
    "zablab": "partition,kill,pause,clock",
}


FAULT_OPS = {
    "partition": "start-partition",
    "kill": "kill",
    "pause": "pause",
    "clock": "start-clock",
}


def expected_faults(db: str) -> set[str]:
    return {FAULT_OPS[n] for n in RUNS[db].split(",")}


def zablab_objects() -> set[str]:
    flt = {"label": "zablab.run"}
    return (
        {c.name for c in CLIENT.containers.list(all=True, filters=flt)}
        | {n.name for n in CLIENT.networks.list(filters=flt)}
        | {v.name for v in CLIENT.volumes.list(filters=flt)}
    )


def command(db: str, nemesis: str, seed: int, time_limit: int, store: str) -> list[str]:
    """Arguments after `zablab`; the nightly workflow's Run step produces the same list."""
    return [
        "test", "--backend", "docker", "--db", db, "--nodes", "3", "--nemesis", nemesis,
        "--nemesis-interval", "2", "--time-limit", str(time_limit), "--seed", str(seed),
        "--store", store, "-q",
    ]  # fmt: skip


def run_test(db: str, store: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "zablab", *command(db, RUNS[db], 7, 20, str(store))]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=400)


def faults_in_history(store: Path) -> set[str]:
    latest = (store / "latest").read_text().strip()
    run = Path(latest) if Path(latest).is_absolute() else store / latest
    fs = set()
    with open(run / "history.jsonl") as f:
        for line in f:
            op = json.loads(line)
            if op.get("process") == "nemesis":
                fs.add(op["f"])
    return fs


@pytest.mark.zookeeper
def test_zookeeper_in_containers_is_valid_under_faults(tmp_path):
    before = zablab_objects()
    res = run_test("zookeeper", tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "valid" in res.stdout
    assert expected_faults("zookeeper") <= faults_in_history(tmp_path)
    assert zablab_objects() - before == set()


@pytest.mark.skipif(
    importlib.util.find_spec("zablab.node.zab") is None, reason="the node has no ZAB replica yet"
)
def test_zablab_in_containers_is_valid_under_faults(tmp_path):
    before = zablab_objects()
    res = run_test("zablab", tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert expected_faults("zablab") <= faults_in_history(tmp_path)
    assert zablab_objects() - before == set()
