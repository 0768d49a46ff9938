"""Three `zablab node` processes replicated by ZAB: writes anywhere, failover, catch-up."""

from __future__ import annotations

import json
import signal
import socket
import struct
import threading

import pytest
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

from zablab.node.jute import Writer
from zablab.node.launcher import NodeProcess
from zablab.node.protocol import EPHEMERAL, ConnectRequest, OpCode


@pytest.fixture
def ensemble(zablab_ensemble):
    return zablab_ensemble


def mode(node: NodeProcess) -> str:
    host, port = node.address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"srvr")
        out = b""
        while chunk := s.recv(4096):
            out += chunk
    for line in out.decode().splitlines():
        if line.startswith("Mode: "):
            return line[6:]
    return ""


def client(*nodes: NodeProcess) -> KazooClient:
    retry = KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5, deadline=30)
    zk = KazooClient(hosts=",".join(n.address for n in nodes), timeout=5, command_retry=retry)
    zk.start(timeout=30)
    return zk


def wait_for_modes(nodes: list[NodeProcess]) -> None:
    pause = threading.Event()
    for _ in range(300):
        modes = sorted(mode(n) for n in nodes)
        if modes == ["follower"] * (len(nodes) - 1) + ["leader"]:
            return
        pause.wait(0.1)
    raise AssertionError(f"no leader with all followers: {modes}")


def test_writes_anywhere_and_failover_and_catch_up(ensemble):
    wait_for_modes(ensemble)
    zks = [client(n) for n in ensemble]
    try:
        fired = threading.Event()
        zks[2].exists("/w", watch=lambda ev: fired.set())
        zks[0].create("/w", b"0")
        assert fired.wait(10)
        zks[1].set("/w", b"1")
        zks[2].sync("/w")
        assert zks[2].get("/w")[0] == b"1"
        eph = zks[1].create("/eph", ephemeral=True)
        zks[0].sync(eph)  # a read elsewhere may lag without sync, as in ZooKeeper
        assert zks[0].exists(eph).ephemeralOwner == zks[1].client_id[0]
    finally:
        for z in zks:
            z.stop()
            z.close()
    leader = next(n for n in ensemble if mode(n) == "leader")
    rest = [n for n in ensemble if n is not leader]
    leader.kill()
    zk = client(*rest)
    try:
        zk.retry(zk.create, "/after", b"x")
        assert zk.retry(zk.get, "/w")[0] == b"1"
    finally:
        zk.stop()
        zk.close()
    leader.restart()
    back = client(leader)
    try:
        back.retry(back.sync, "/")
        assert back.retry(back.get, "/after")[0] == b"x"
    finally:
        back.stop()
        back.close()
    # ZAB's agreement on the traces: one txn per position, the same on every replica (a
    # restarted replica delivers again from what it recovered, at the same positions)
    at: dict[int, int] = {}
    delivered = 0
    for n in ensemble:
        path = n.data_dir.rsplit("/", 1)[0] + "/trace.jsonl"
        with open(path, encoding="utf-8") as f:
            for line in f:
                e = json.loads(line)
                if e["event"] == "deliver":
                    delivered += 1
                    assert at.setdefault(e["pos"], e["zxid"]) == e["zxid"], e
    assert delivered >= 3 * 5 and sorted(at.values()) == [at[p] for p in sorted(at)]


def test_vanished_client_expires_through_the_leader_and_paused_leader_is_replaced(ensemble):
    wait_for_modes(ensemble)
    leader = next(n for n in ensemble if mode(n) == "leader")
    follower = next(n for n in ensemble if n is not leader)
    host, port = follower.address.split(":")

    def frame(b: bytes) -> bytes:
        return struct.pack(">i", len(b)) + b

    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(frame(ConnectRequest(0, 0, 400, 0, bytes(16), False, True).encode()))
        s.recv(4096)
        create = Writer().int(1).int(OpCode.CREATE).ustring("/gone").buffer(b"")
        create.int(1).int(31).ustring("world").ustring("anyone").int(EPHEMERAL)
        s.sendall(frame(create.bytes()))
        assert struct.unpack_from(">iiqi", s.recv(4096))[3] == 0
    zk = client(leader)
    try:
        gone = threading.Event()
        if zk.exists("/gone", watch=lambda ev: gone.set()) is not None:
            assert gone.wait(10)
    finally:
        zk.stop()
        zk.close()
    # a leader that stops (SIGSTOP) is replaced; when it wakes up it follows
    leader.signal(signal.SIGSTOP)
    try:
        rest = [n for n in ensemble if n is not leader]
        pause = threading.Event()
        for _ in range(100):
            if sorted(mode(n) for n in rest) == ["follower", "leader"]:
                break
            pause.wait(0.1)
        zk = client(*rest)
        zk.retry(zk.create, "/while-paused", b"p")
        zk.stop()
        zk.close()
    finally:
        leader.signal(signal.SIGCONT)
    wait_for_modes(ensemble)
    back = client(leader)
    try:
        back.retry(back.sync, "/")
        assert back.retry(back.get, "/while-paused")[0] == b"p"
    finally:
        back.stop()
        back.close()
