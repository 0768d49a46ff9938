"""The real server process through kazoo and raw sockets: the sans-IO core behind asyncio."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, RolledBackError

from zablab.node.jute import Writer
from zablab.node.launcher import launch_node
from zablab.node.protocol import EPHEMERAL, ConnectRequest, OpCode


@pytest.fixture
def zk(zablab_server):
    client = KazooClient(hosts=zablab_server, timeout=5)
    client.start()
    try:
        yield client
    finally:
        client.stop()
        client.close()


def test_kazoo_basic_operations(zk):
    assert sorted(zk.get_children("/")) == ["zookeeper"]
    assert zk.create("/a", b"v") == "/a"
    data, stat = zk.get("/a")
    assert data == b"v" and stat.version == 0
    assert zk.set("/a", b"w").version == 1
    with pytest.raises(BadVersionError):
        zk.set("/a", b"x", version=0)
    with pytest.raises(NodeExistsError):
        zk.create("/a")
    with pytest.raises(NoNodeError):
        zk.get("/missing")
    zk.create("/a/s-", sequence=True)
    zk.create("/a/e", ephemeral=True)
    kids, stat = zk.get_children("/a", include_data=True)
    assert sorted(kids) == ["e", "s-0000000000"] and stat.numChildren == 2
    t = zk.transaction()
    t.create("/t1")
    t.check("/a", 99)
    res = t.commit()
    assert isinstance(res[0], RolledBackError) and isinstance(res[1], BadVersionError)
    zk.delete("/a", recursive=True)
    assert zk.exists("/a") is None


def test_kazoo_watch_fires(zk, zablab_server):
    other = KazooClient(hosts=zablab_server)
    other.start()
    try:
        got = threading.Event()
        events = []
        zk.create("/w", b"0")

        def watch(ev):
            events.append((ev.type, ev.path))
            got.set()

        zk.get("/w", watch=watch)
        other.set("/w", b"1")
        assert got.wait(5)
        assert events == [("CHANGED", "/w")]
    finally:
        other.stop()
        other.close()


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _read_frame(s: socket.socket) -> bytes:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            assert chunk, "server closed the connection"
            buf += chunk
        return buf

    (n,) = struct.unpack(">i", exact(4))
    return exact(n)


def test_vanished_client_expires_and_its_ephemerals_go(zablab_server):
    """A client that just disappears (no closeSession) loses its session after the timeout."""
    watcher = KazooClient(hosts=zablab_server)
    watcher.start()
    host, port = zablab_server.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(_frame(ConnectRequest(0, 0, 400, 0, bytes(16), False, True).encode()))
            _read_frame(s)
            create = Writer().int(1).int(OpCode.CREATE).ustring("/eph").buffer(b"")
            create.int(1).int(31).ustring("world").ustring("anyone").int(EPHEMERAL)
            s.sendall(_frame(create.bytes()))
            assert struct.unpack_from(">iqi", _read_frame(s))[2] == 0
        gone = threading.Event()
        assert watcher.exists("/eph", watch=lambda ev: gone.set()) is not None
        assert gone.wait(10)
        assert watcher.exists("/eph") is None
    finally:
        watcher.stop()
        watcher.close()


def _raw(address: str, data: bytes) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_four_letter_words_over_tcp(zablab_server):
    assert _raw(zablab_server, b"ruok") == b"imok"
    assert b"Mode: standalone" in _raw(zablab_server, b"srvr")


def test_garbage_connection_is_dropped_and_others_keep_working(zk, zablab_node):
    out = _raw(zablab_node.address, struct.pack(">i", 2_000_000) + b"junk")
    assert out == b""
    out = _raw(zablab_node.address, struct.pack(">i", 3) + b"abc")
    assert out == b""
    assert zk.create("/after") == "/after"
    time.sleep(0.2)
    log = zablab_node.tail_log(50)
    assert "jute.maxbuffer" in log and "malformed" in log


def test_kill_9_keeps_every_acknowledged_write(tmp_path):
    node = launch_node(str(tmp_path / "d"), tick_time=200)
    try:
        client = KazooClient(hosts=node.address, timeout=5)
        client.start()
        acked: list[str] = []
        stop = threading.Event()

        def load():
            i = 0
            while not stop.is_set():
                try:
                    client.create(f"/k{i}", b"x" * 100)
                    acked.append(f"/k{i}")
                except Exception:
                    return
                i += 1

        t = threading.Thread(target=load)
        t.start()
        while len(acked) < 30:
            time.sleep(0.01)
        node.kill()
        stop.set()
        t.join(10)
        client.stop()
        client.close()
        node.restart()
        check = KazooClient(hosts=node.address, timeout=5)
        check.start()
        try:
            present = set(check.get_children("/"))
            missing = [p for p in acked if p[1:] not in present]
            assert missing == []
        finally:
            check.stop()
            check.close()
    finally:
        node.kill()


def test_corrupt_storage_refuses_to_start_with_a_clear_message(tmp_path):
    d = tmp_path / "d"
    node = launch_node(str(d))
    client = KazooClient(hosts=node.address)
    client.start()
    for i in range(20):
        client.create(f"/c{i}", b"y" * 50)
    client.stop()
    client.close()
    node.kill()
    (log,) = [p for p in d.iterdir() if p.name.startswith("log.")]
    raw = bytearray(log.read_bytes())
    # a flipped byte in the middle of the records (the file ends in preallocated zeros)
    raw[len(bytes(raw).rstrip(b"\0")) // 2] ^= 0xFF
    log.write_bytes(bytes(raw))
    try:
        with pytest.raises(Exception) as info:
            node.restart(timeout=10)
    finally:
        node.kill()  # if it wrongly started, do not leave it running
    assert "refusing to start" in str(info.value) and "log." in str(info.value)


def test_snapshots_every_n_txns_and_recovery_from_snapshot_plus_log(tmp_path):
    d = tmp_path / "d"
    node = launch_node(str(d), tick_time=200, extra_args=["--snap-count", "10"])
    try:
        client = KazooClient(hosts=node.address)
        client.start()
        for i in range(35):
            client.create(f"/s{i}", str(i).encode())
        client.create("/eph", ephemeral=True)
        node.kill()
        client.stop()
        client.close()
        assert [p for p in d.iterdir() if p.name.startswith("snapshot.")]
        node.restart()
        check = KazooClient(hosts=node.address)
        check.start()
        try:
            assert check.get("/s34")[0] == b"34"
            assert len([k for k in check.get_children("/") if k.startswith("s")]) == 35
            # the dead client's session survived the restart, then expires (max 4 s here)
            gone = threading.Event()
            if check.exists("/eph", watch=lambda ev: gone.set()) is not None:
                assert gone.wait(15)
            assert check.exists("/eph") is None
        finally:
            check.stop()
            check.close()
    finally:
        node.kill()
