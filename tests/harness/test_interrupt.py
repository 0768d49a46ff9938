"""SIGINT in the middle of a partition: the run heals, kills its nodes, removes its temp configs
and state file, and nothing is left listening or running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.conftest import needs_zookeeper, procs_under

pytestmark = [pytest.mark.zookeeper, needs_zookeeper]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_sigint_mid_partition_leaves_nothing_behind(tmp_path, runtime_dir):
    store = tmp_path / "store"
    env = {**os.environ, "ZABLAB_RUNTIME_DIR": str(runtime_dir), "TMPDIR": str(tmp_path)}
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zablab",
            "test",
            "--db",
            "zookeeper",
            "--nodes",
            "3",
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "1",
            "--time-limit",
            "120",
            "--store",
            str(store),
            "-q",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        run = None
        while time.monotonic() < deadline and p.poll() is None:
            if (store / "latest").exists():
                run = store / (store / "latest").read_text().strip()
                h = run / "history.jsonl"
                if h.exists() and any(
                    json.loads(line).get("f") == "start-partition" and json.loads(line).get("value")
                    for line in h.read_text().splitlines()
                ):
                    break
            time.sleep(0.2)
        assert p.poll() is None, p.stdout.read().decode() if p.stdout else ""
        assert run is not None
        test = json.loads((run / "test.json").read_text())
        ports = [n["client_port"] for n in test["nodes"]] + [
            pp for n in test["nodes"] for pp in n["peer_ports"]
        ]
        state = json.loads(next(runtime_dir.glob("*.json")).read_text())
        workdirs = state["dirs"]
        assert workdirs and all(Path(d).exists() for d in workdirs)
        pids = [x["pid"] for x in state["procs"] if not x["node"].startswith("clients-")]
        assert len(pids) == 3
        clients = [x["pid"] for x in state["procs"] if x["node"].startswith("clients-")]
        assert clients  # the client worker processes, stopped in order by the harness

        p.send_signal(signal.SIGINT)
        out = p.communicate(timeout=60)[0].decode()
        assert p.returncode == 130, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # the run recorded healing the partition before it went away
    fs = [json.loads(line)["f"] for line in (run / "history.jsonl").read_text().splitlines()]
    assert "stop-partition" in fs[fs.index("start-partition") :]
    assert not list(runtime_dir.glob("*.json"))
    for d in workdirs:
        assert not Path(d).exists()
        assert not procs_under(d)
    for pid in pids + clients:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
    assert not [port for port in ports if listening(port)]
    assert (run / "nodes" / "n1" / "zookeeper.log").exists()  # logs were still fetched


def test_kill_9_of_the_harness_is_cleaned_up_by_cluster_down(tmp_path, runtime_dir):
    store = tmp_path / "store"
    env = {**os.environ, "ZABLAB_RUNTIME_DIR": str(runtime_dir), "TMPDIR": str(tmp_path)}
    p = subprocess.Popen(
        [sys.executable, "-m", "zablab", "test", "--db", "zookeeper", "--nodes", "1",
         "--nemesis", "none", "--time-limit", "120", "--store", str(store), "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        state: dict = {}
        while time.monotonic() < deadline:
            files = list(runtime_dir.glob("*.json"))
            if files:
                state = json.loads(files[0].read_text())
                if any(x["node"].startswith("clients-") for x in state.get("procs", [])):
                    break
            time.sleep(0.2)
        assert state.get("procs"), "the run never recorded its node"
        p.kill()  # no finally block runs: the node, its temp dir and the state file stay
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    pid = next(x["pid"] for x in state["procs"] if x["node"] == "n1")
    assert Path(f"/proc/{pid}").exists()
    # client worker processes see their stdin close and end by themselves
    clients = [x["pid"] for x in state["procs"] if x["node"].startswith("clients-")]
    assert clients
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(c) for c in clients):
        time.sleep(0.2)
    assert not any(alive(c) for c in clients)
    out = subprocess.run(
        [sys.executable, "-m", "zablab", "cluster", "down"], env=env, capture_output=True, text=True
    ).stdout
    assert "cleaned test run" in out
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not any(Path(d).exists() for d in state["dirs"])
    assert not list(runtime_dir.glob("*.json"))
