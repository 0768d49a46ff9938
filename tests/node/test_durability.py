"""Crash durability of `zablab node`.

kill -9 during a write load loses no acknowledged write; a torn log tail is repaired on
restart; a damaged record in the middle of the log stops startup with one clear line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zablab.errors import UserError
from zablab.node.launcher import NodeProcess, launch_node
from zablab.node.storage import TxnLog
from zablab.node.storage.records import SEGMENT_MAGIC, encode_record, scan_segment

WRITERS = 4
LOAD_SECONDS = 2.0  # how long the load runs before the kill (not an assertion)


def segments(node: NodeProcess) -> list[Path]:
    """The node's log segments (recognised by their header, wherever the node keeps them)."""
    found = (p for p in Path(node.data_dir).rglob("log.*") if p.read_bytes()[:8] == SEGMENT_MAGIC)
    return sorted(found, key=lambda p: p.name)


def log_text(node: NodeProcess) -> str:
    return Path(node.log_path).read_text(errors="replace")


@pytest.fixture
def node(request, tmp_path) -> Iterator[NodeProcess]:
    extra = getattr(request, "param", [])  # indirect parametrisation: extra node flags
    n = launch_node(str(tmp_path / "data"), log_path=str(tmp_path / "node.log"), extra_args=extra)
    try:
        yield n
    finally:
        n.kill()


def client(node: NodeProcess):
    from kazoo.client import KazooClient

    zk = KazooClient(hosts=node.address, timeout=10, connection_retry={"max_tries": 0})
    zk.start(timeout=15)
    return zk


class Load:
    """Writer threads doing sync creates and setData; records every acknowledged write."""

    def __init__(self, node: NodeProcess, writers: int = WRITERS) -> None:
        setup = client(node)
        try:
            setup.ensure_path("/d")
            for w in range(writers):
                if setup.exists(f"/d/reg{w}") is None:
                    setup.create(f"/d/reg{w}", b"-1")
        finally:
            setup.stop()
            setup.close()
        self.created: dict[str, bytes] = {}  # path -> value
        self.registers: dict[str, tuple[int, bytes]] = {}  # path -> (version, value)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clients = [client(node) for _ in range(writers)]
        self._threads = [
            threading.Thread(target=self._write, args=(w,), daemon=True) for w in range(writers)
        ]
        for t in self._threads:
            t.start()

    def _write(self, w: int) -> None:
        zk, reg, k = self._clients[w], f"/d/reg{w}", 0
        while not self._stop.is_set():
            k += 1
            value = f"w{w}-{k}".encode()
            try:
                path = zk.create(f"/d/n{w}-", value, sequence=True)
                with self._lock:
                    self.created[path] = value
                stat = zk.set(reg, value)
                with self._lock:
                    self.registers[reg] = (stat.version, value)
            except Exception:  # connection loss once the server is gone: result unknown
                return

    def stop(self) -> None:
        self._stop.set()
        for zk in self._clients:
            zk.stop()  # fails calls still waiting for the dead server
            zk.close()
        for t in self._threads:
            t.join(15)

    def lost(self, zk) -> list[str]:
        """Acknowledged writes the server does not show (at least as new), described."""
        with self._lock:
            created, registers = dict(self.created), dict(self.registers)
        out = []
        for path, value in created.items():
            stat = zk.exists(path)
            if stat is None:
                out.append(f"create of {path} lost")
            elif zk.get(path)[0] != value:
                out.append(f"{path} holds another value")
        for reg, (version, value) in registers.items():
            data, stat = zk.get(reg)
            if stat.version < version or (stat.version == version and data != value):
                out.append(f"{reg} went back from version {version} to {stat.version}")
        return out


@pytest.mark.parametrize(
    "node", [[], ["--snap-count", "40"]], ids=["log-only", "with-snapshots"], indirect=True
)
def test_kill9_during_load_keeps_every_acknowledged_write(node):
    load = Load(node)
    time.sleep(LOAD_SECONDS)
    node.kill()  # mid-load: the writers are blocked in calls
    load.stop()
    acked = len(load.created) + len(load.registers)
    print(f"{len(load.created)} creates and {len(load.registers)} registers acknowledged")
    assert len(load.created) > 20, "the load acknowledged too few writes to test anything"
    if "--snap-count" in node.args:
        assert len(list(Path(node.data_dir).glob("snapshot.*"))) >= 2, "no snapshots taken"
    node.restart()
    zk = client(node)
    try:
        lost = load.lost(zk)
        assert not lost, f"{len(lost)} of {acked} acknowledged writes lost: {lost[:5]}"
        zk.create("/after-restart", b"ok")  # and the server keeps taking writes
    finally:
        zk.stop()
        zk.close()


def test_lost_writes_are_noticed(node):
    """The check above can fail: drop the newest log records behind the server's back."""
    load = Load(node, writers=2)
    deadline = time.monotonic() + 30
    while len(load.created) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    node.kill()
    load.stop()
    seg = segments(node)[-1]
    log = TxnLog(seg.parent)
    log.truncate_after(log.last_zxid - 6)  # the last acknowledged writes vanish
    log.close()
    node.restart()
    zk = client(node)
    try:
        assert load.lost(zk)
    finally:
        zk.stop()
        zk.close()


def _write_some(node: NodeProcess, n: int = 20) -> None:
    zk = client(node)
    try:
        for i in range(n):
            zk.create(f"/k{i:03d}", f"value {i}".encode())
    finally:
        zk.stop()
        zk.close()


def _check_some(node: NodeProcess, n: int = 20) -> None:
    zk = client(node)
    try:
        for i in range(n):
            assert zk.get(f"/k{i:03d}")[0] == f"value {i}".encode()
        zk.create("/after", b"x")
    finally:
        zk.stop()
        zk.close()


@pytest.mark.parametrize(
    "tail",
    [b"garbage that is not a record", encode_record(1 << 40, b"half a record")[:-5], b"\0" * 512],
    ids=["garbage", "half-record", "zeros"],
)
def test_torn_log_tail_is_truncated_on_restart(node, tail):
    _write_some(node)
    node.kill()
    seg = segments(node)[-1]
    size = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(tail)
    node.restart()
    _check_some(node)
    if any(tail):
        assert "torn tail" in log_text(node)
    # zeros are preallocated space (the normal end of the newest segment): cut without a repair
    node.kill()
    assert seg.stat().st_size >= size  # cut back to the last whole record, then appended to
    spans, damage = scan_segment(seg.read_bytes())
    assert damage is None and spans


def test_damaged_middle_record_refuses_to_start(node):
    _write_some(node)
    node.kill()
    seg = segments(node)[-1]
    data = bytearray(seg.read_bytes())
    spans, _ = scan_segment(bytes(data))
    assert len(spans) >= 5
    _, off, end = spans[len(spans) // 2]
    data[end - 1] ^= 0xFF  # last payload byte of a record in the middle
    seg.write_bytes(bytes(data))
    before = len(log_text(node))
    with pytest.raises(UserError, match="did not start"):
        node.restart()
    out = log_text(node)[before:]
    assert node.proc is not None and (node.proc.returncode or 0) > 0  # exited, not killed
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if str(seg) in ln]
    assert len(lines) == 1, out
    assert f"offset {off}" in lines[0], out
