"""Real `zablab node` ensembles under kill -9 and a kazoo load.

Several writer threads (multi-host connection strings) create znodes and record every create
the server acknowledged. Faults are injected while they run; after each fault the load must
make progress again within a bound, and at the end every node (after restart and `sync`) must
hold every acknowledged write. Each restarted node's ZAB trace must show the sync mode the
scenario forces (DIFF, TRUNC, SNAP), and the traces of all nodes must pass the ZAB checker.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.retry import KazooRetry

from zablab.checkers.zab import check_zab_trace, load_zab_trace
from zablab.errors import UserError
from zablab.node.config import NodeConfig, read_zoo_cfg
from zablab.node.launcher import NodeProcess, launch_ensemble
from zablab.node.replica import ReplicaConfig

TICK_MS = 100
RESUME_WITHIN = 30.0  # seconds for the rest of a batch of writes after a fault


# ---- nodes ------------------------------------------------------------------------------------


def mode(node: NodeProcess) -> str:
    """`leader`, `follower`, or "" (not serving, stopped or dead), from the srvr command."""
    if not node.alive():
        return ""
    host, port = node.address.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1) as s:
            s.settimeout(1)
            s.sendall(b"srvr")
            out = b""
            while chunk := s.recv(4096):
                out += chunk
    except OSError:
        return ""
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Mode: "):
            return line[6:].strip()
    return ""


def wait_until(what: str, cond: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")


def wait_for_leader(nodes: list[NodeProcess]) -> NodeProcess:
    """Wait until one of `nodes` leads and the others follow; return the leader."""
    found: list[NodeProcess] = []

    def settled() -> bool:
        modes = [mode(n) for n in nodes]
        found[:] = [n for n, m in zip(nodes, modes, strict=True) if m == "leader"]
        return sorted(modes) == sorted(["leader"] + ["follower"] * (len(nodes) - 1))

    wait_until("one leader and the rest following", settled)
    return found[0]


def trace_path(node: NodeProcess) -> str:
    return os.path.join(os.path.dirname(node.data_dir), "trace.jsonl")


def trace(node: NodeProcess) -> list[dict[str, Any]]:
    with open(trace_path(node), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def syncs_since_restart(node: NodeProcess) -> list[dict[str, Any]]:
    events = trace(node)
    last = max((i for i, e in enumerate(events) if e["event"] == "restart"), default=-1)
    return [e for e in events[last + 1 :] if e["event"] == "sync"]


def max_broadcast(node: NodeProcess) -> int:
    return max((e["zxid"] for e in trace(node) if e["event"] == "broadcast"), default=0)


@pytest.fixture
def ensemble(tmp_path) -> Iterator[Callable[..., list[NodeProcess]]]:
    """Factory: start an n-node ensemble; every node is resumed and killed afterwards."""
    started: list[NodeProcess] = []

    def start(n: int, extra_config: str = "") -> list[NodeProcess]:
        nodes = launch_ensemble(
            str(tmp_path / f"ensemble{len(started)}"),
            n,
            tick_time=TICK_MS,
            extra_config=extra_config,
        )
        started.extend(nodes)
        return nodes

    try:
        yield start
    finally:
        for n in started:
            n.signal(signal.SIGCONT)
            n.kill()
        for n in started:  # shown by pytest when the test failed
            print(f"--- node log {n.log_path}\n{n.tail_log(15)}")


# ---- load -------------------------------------------------------------------------------------


class Load:
    """Writer threads creating /load/w<i>-<seq>; `acked` holds every create that succeeded.

    Writes are handed out in batches (`run`) so a scenario controls how much history a
    stopped node misses; a write that fails is of unknown outcome and is never retried.
    """

    def __init__(self, nodes: list[NodeProcess], threads: int = 3) -> None:
        self.hosts = [n.address for n in nodes]
        self.acked: list[str] = []
        self.unknown = 0
        self.cond = threading.Condition()
        self.budget = 0
        self.stopping = False
        self.failures: list[BaseException] = []
        self.clients = [self._client(i) for i in range(threads)]
        self.clients[0].ensure_path("/load")
        self.threads = [
            threading.Thread(target=self._writer, args=(i, zk), daemon=True)
            for i, zk in enumerate(self.clients)
        ]
        for t in self.threads:
            t.start()

    def _client(self, i: int) -> KazooClient:
        hosts = self.hosts[i % len(self.hosts) :] + self.hosts[: i % len(self.hosts)]
        retry = KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5)
        zk = KazooClient(
            hosts=",".join(hosts), timeout=4, connection_retry=retry, randomize_hosts=False
        )
        zk.start(timeout=30)
        return zk

    def _writer(self, i: int, zk: KazooClient) -> None:
        seq = 0
        try:
            while True:
                with self.cond:
                    self.cond.wait_for(lambda: self.budget > 0 or self.stopping)
                    if self.stopping:
                        return
                path = f"/load/w{i}-{seq:06d}"
                seq += 1
                try:
                    zk.create(path, b"v")
                except (KazooException, KazooTimeoutError):
                    with self.cond:
                        self.unknown += 1
                    time.sleep(0.05)
                    continue
                with self.cond:
                    self.acked.append(path)
                    self.budget -= 1
                    self.cond.notify_all()
        except BaseException as exc:  # surfaced by run()/stop()
            self.failures.append(exc)

    def run(self, n: int, fault: Callable[[], None] | None = None) -> None:
        """Let the writers get n more writes acknowledged, calling `fault` once half of them
        are; fail unless all n are acknowledged within RESUME_WITHIN seconds of the fault."""
        with self.cond:
            goal = len(self.acked) + n
            self.budget = n
            self.cond.notify_all()
            if fault is not None:
                half = goal - n + n // 2
                self.cond.wait_for(lambda: len(self.acked) >= half, timeout=RESUME_WITHIN)
        if fault is not None:
            fault()  # the writers are mid-write: more than half the batch is still to do
        with self.cond:
            done = self.cond.wait_for(lambda: len(self.acked) >= goal, timeout=RESUME_WITHIN)
            self.budget = 0
            got = n - max(0, goal - len(self.acked))
        assert not self.failures, self.failures
        assert done, f"service did not resume: {got} of {n} writes acknowledged in time"

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for t in self.threads:
            t.join(30)
        for zk in self.clients:
            zk.stop()
            zk.close()
        assert not self.failures, self.failures


@pytest.fixture
def loads() -> Iterator[list[Load]]:
    made: list[Load] = []
    try:
        yield made
    finally:
        for load in made:
            if not load.stopping:
                load.stop()


# ---- verification -----------------------------------------------------------------------------


def children_at(node: NodeProcess) -> set[str]:
    """/load's children as `node` sees them after `sync` (a client connected to it alone)."""
    zk = KazooClient(hosts=node.address, timeout=4)
    zk.start(timeout=30)
    try:
        zk.sync("/load")
        return set(zk.get_children("/load"))
    finally:
        zk.stop()
        zk.close()


def assert_no_acked_write_lost(nodes: list[NodeProcess], load: Load) -> None:
    load.stop()
    acked = {p.rsplit("/", 1)[1] for p in load.acked}
    assert len(acked) == len(load.acked)
    seen = {n.address: children_at(n) for n in nodes}
    for addr, kids in seen.items():
        lost = sorted(acked - kids)
        assert not lost, f"{addr} lost {len(lost)} acknowledged writes, e.g. {lost[:5]}"
    first = next(iter(seen.values()))
    assert all(kids == first for kids in seen.values()), "nodes disagree on /load"


def assert_traces_valid(nodes: list[NodeProcess]) -> None:
    """The ZAB checker over all traces, quiesced: every replica ends on the same sequence."""
    result = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = check_zab_trace(load_zab_trace(*(trace_path(n) for n in nodes)), quiesced=True)
        if result.valid:
            return
        time.sleep(0.3)  # a last delivery may still be on its way to a follower's trace
    assert result is not None
    assert result.valid, json.dumps(result.to_dict(), indent=1)[:4000]


def assert_synced_by(node: NodeProcess, want: str) -> dict[str, Any]:
    syncs = syncs_since_restart(node)
    got = [e for e in syncs if e["mode"] == want]
    assert got, f"node {node.address} synced by {[e['mode'] for e in syncs]}, wanted {want}"
    return got[0]


# ---- scenarios --------------------------------------------------------------------------------


def test_three_nodes_follower_diff_then_snap_then_leader_killed(ensemble, loads):
    """A follower killed under load catches up by DIFF after a short absence and by SNAP once
    it missed more than the leader's DIFF window; then the leader is killed under load."""
    window = 40
    nodes = ensemble(3, f"commitLogCount={window}\n")
    leader = wait_for_leader(nodes)
    load = Load(nodes)
    loads.append(load)
    load.run(20)
    follower = next(n for n in nodes if n is not leader)

    load.run(30, fault=follower.kill)  # misses ~15 txns: well inside the window
    follower.restart()
    wait_for_leader(nodes)
    diff = assert_synced_by(follower, "DIFF")
    assert diff["from"] < diff["to"], diff
    load.run(10)

    load.run(3 * window, fault=follower.kill)
    follower.restart()
    wait_for_leader(nodes)
    snap = assert_synced_by(follower, "SNAP")
    assert snap["from"] < snap["to"], snap
    load.run(10)

    load.run(30, fault=leader.kill)  # and the leader, under load: the other two take over
    leader.restart()
    wait_for_leader(nodes)
    assert syncs_since_restart(leader), "the old leader rejoined without a sync"
    load.run(10)

    assert_no_acked_write_lost(nodes, load)
    assert_traces_valid(nodes)


def test_isolated_leader_truncates_its_uncommitted_proposal(ensemble, loads):
    """A leader logs a proposal no follower logged, dies; the rest move on; it comes back
    and must TRUNC it away (the proposal was never committed, so no node may keep it)."""
    nodes = ensemble(3)
    old = wait_for_leader(nodes)
    load = Load(nodes)
    loads.append(load)
    load.run(20)
    rest = [n for n in nodes if n is not old]
    lone = KazooClient(hosts=old.address, timeout=4)
    lone.start(timeout=30)
    try:
        before = max_broadcast(old)
        for n in rest:
            n.signal(signal.SIGSTOP)
        lone.create_async("/doomed", b"never committed")
        wait_until("the isolated leader to propose", lambda: max_broadcast(old) > before, 10)
        doomed = max_broadcast(old)
        # It steps down once it misses a quorum for syncLimit ticks; by then it has logged it.
        wait_until("the isolated leader to step down", lambda: mode(old) != "leader", 10)
        old.kill()
        # The proposal may sit unread in a stopped follower's socket buffer: kill them too so
        # that it is lost there (it was never acknowledged), then bring them back from disk.
        for n in rest:
            n.kill()
            n.restart()
    finally:
        lone.stop()
        lone.close()
    wait_for_leader(rest)
    load.run(20)  # service resumes on the two survivors
    old.restart()
    wait_for_leader(nodes)
    trunc = assert_synced_by(old, "TRUNC")
    assert trunc["from"] >= doomed, (trunc, doomed)  # it held the proposal when it came back
    load.run(10)

    assert_no_acked_write_lost(nodes, load)
    for n in nodes:
        zk = KazooClient(hosts=n.address, timeout=4)
        zk.start(timeout=30)
        try:
            zk.sync("/")
            assert zk.exists("/doomed") is None, f"{n.address} kept the uncommitted proposal"
        finally:
            zk.stop()
            zk.close()
    assert_traces_valid(nodes)


def test_five_nodes_leader_and_follower_killed_under_load(ensemble, loads):
    nodes = ensemble(5)
    leader = wait_for_leader(nodes)
    load = Load(nodes, threads=4)
    loads.append(load)
    load.run(20)

    load.run(30, fault=leader.kill)
    up = [n for n in nodes if n is not leader]
    new_leader = wait_for_leader(up)
    follower = random.Random(0).choice([n for n in up if n is not new_leader])
    load.run(30, fault=follower.kill)  # three of five still form a quorum

    leader.restart()
    follower.restart()
    wait_for_leader(nodes)
    for n in (leader, follower):
        assert syncs_since_restart(n), f"{n.address} rejoined without a sync"
    load.run(10)

    assert_no_acked_write_lost(nodes, load)
    assert_traces_valid(nodes)


def test_commit_log_count_sets_the_diff_window(tmp_path):
    """The knob the SNAP scenario relies on (a Java system property in ZooKeeper)."""
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path}\ncommitLogCount=40\n")
    assert read_zoo_cfg(str(cfg)).commit_log_count == 40
    assert NodeConfig().commit_log_count == ReplicaConfig().committed_log_size
    cfg.write_text(f"dataDir={tmp_path}\ncommitLogCount=0\n")
    with pytest.raises(UserError, match="commitLogCount must be at least 1"):
        read_zoo_cfg(str(cfg))
