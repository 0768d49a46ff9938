"""Bad input on the client port.

Hypothesis sends malformed, truncated, oversized and random frames, before and after a valid
ConnectRequest, each on its own connection to one long-running `zablab node`. Throughout:

- the server process never dies and a kazoo session opened at the start keeps working;
- every connection ends: the server closes it, on its own for a definitely malformed frame,
  or at the latest when the client half-closes (a server that silently waits forever on a bad
  frame is a bug, reported with the frame);
- every definitely malformed frame, and every connection that ends in the middle of a frame,
  leaves a log line naming the peer (its address:port).

The frames are built here with a few lines of jute so that a server bug cannot hide in a
shared encoder. ZABLAB_FUZZ_CASES sets the number of hypothesis examples (the bench script
bench/fuzz_client_port.py runs it longer and prints cases/s from ZABLAB_FUZZ_STATS).
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from zablab.node.launcher import NodeProcess, launch_node

CASES = int(os.environ.get("ZABLAB_FUZZ_CASES", "2000"))
CLOSE_TIMEOUT = 10.0  # seconds the server may take to end a bad connection
MAX_FRAME = 0xFFFFF  # jute.maxbuffer: a longer length prefix must be refused
PEER = re.compile(rb"127\.0\.0\.1:(\d+)\b")

# -- a tiny jute encoder ---------------------------------------------------------------


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def buf(b: bytes) -> bytes:
    return i32(len(b)) + b


def ustr(s: str) -> bytes:
    return buf(s.encode())


def frame(body: bytes) -> bytes:
    return i32(len(body)) + body


def connect_body(timeout_ms: int = 10000) -> bytes:
    """ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly."""
    return i32(0) + i64(0) + i32(timeout_ms) + i64(0) + buf(b"\0" * 16) + b"\0"


OPEN_ACL = i32(1) + i32(31) + ustr("world") + ustr("anyone")

# complete, valid request bodies for opcodes that carry one (a prefix of each is malformed)
BODIES: dict[int, bytes] = {
    1: ustr("/fuzz-a") + buf(b"v") + OPEN_ACL + i32(0),  # create
    2: ustr("/fuzz-a") + i32(-1),  # delete
    3: ustr("/") + b"\0",  # exists
    4: ustr("/") + b"\0",  # getData
    5: ustr("/fuzz-a") + buf(b"w") + i32(-1),  # setData
    6: ustr("/"),  # getACL
    7: ustr("/fuzz-a") + OPEN_ACL + i32(-1),  # setACL
    8: ustr("/") + b"\0",  # getChildren
    9: ustr("/"),  # sync
    12: ustr("/") + b"\0",  # getChildren2
    13: ustr("/") + i32(-1),  # check
    15: ustr("/fuzz-b") + buf(b"v") + OPEN_ACL + i32(0),  # create2
    100: i32(0) + ustr("digest") + buf(b"u:p"),  # auth
    101: i64(0) + i32(0) + i32(0) + i32(0),  # setWatches
}
XIDS = {100: -4, 101: -8}


def request(op: int, body: bytes, xid: int = 1) -> bytes:
    return frame(i32(XIDS.get(op, xid)) + i32(op) + body)


# -- cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str
    handshake: bool  # send a valid ConnectRequest first
    data: bytes  # then these bytes
    bad: bool  # definitely malformed: the server must close on its own and log the peer
    half_close: bool = True  # shut our write side after sending (EOF for the server)
    logged: bool | None = None  # a log line must name the peer (default: when bad)

    @property
    def must_log(self) -> bool:
        return self.bad if self.logged is None else self.logged

    def describe(self) -> str:
        stage = "after a valid ConnectRequest" if self.handshake else "as the first bytes"
        return (
            f"{self.kind} {stage}: {self.data[:200].hex()}{'...' if len(self.data) > 200 else ''}"
        )


@st.composite
def oversized(draw) -> Case:
    length = draw(st.integers(MAX_FRAME + 1, 2**31 - 1) | st.integers(-(2**31), -1))
    tail = draw(st.binary(max_size=64))
    hs = draw(st.booleans())
    return Case("oversized-or-negative-length", hs, i32(length) + tail, True, half_close=False)


@st.composite
def truncated_record(draw) -> Case:
    """A complete frame whose record ends too early (the frame length is honest)."""
    if draw(st.booleans()):
        body = connect_body()
        cut = draw(st.integers(0, 43))  # 44 bytes hold every mandatory field
        return Case("truncated-connect", False, frame(body[:cut]), True, half_close=False)
    op = draw(st.sampled_from(sorted(BODIES)))
    body = i32(XIDS.get(op, 7)) + i32(op) + BODIES[op]
    cut = draw(st.integers(0, len(body) - 1))
    return Case(f"truncated-op{op}", True, frame(body[:cut]), True, half_close=False)


@st.composite
def bad_length_field(draw) -> Case:
    """A string/buffer length inside a request that points far past the frame's end."""
    op = draw(st.sampled_from([1, 2, 3, 4, 5, 8, 9, 12, 15]))
    n = draw(st.integers(64, 2**31 - 1))
    body = i32(9) + i32(op) + i32(n) + b"/x"
    return Case(f"bad-length-op{op}", True, frame(body), True, half_close=False)


@st.composite
def eof_mid_frame(draw) -> Case:
    full = draw(
        st.sampled_from([frame(connect_body())] + [request(op, b) for op, b in BODIES.items()])
    )
    hs = len(full) != len(frame(connect_body()))
    cut = draw(st.integers(1, len(full) - 1))
    return Case("eof-mid-frame", hs, full[:cut], False, logged=True)


@st.composite
def random_frame(draw) -> Case:
    hs = draw(st.booleans())
    if draw(st.booleans()):
        data = draw(st.binary(max_size=300))
        return Case("random-bytes", hs, data, False)
    op = draw(st.integers(-20, 120) | st.integers(-(2**31), 2**31 - 1))
    body = draw(st.binary(max_size=200))
    return Case(
        "random-request", hs, frame(i32(draw(st.integers(-10, 100))) + i32(op) + body), False
    )


def _with_prelude(case: Case, ops: list[int]) -> Case:
    """Valid requests before the bad bytes, so the bad frame meets a session with history."""
    if not case.handshake or not ops:
        return case
    prelude = b"".join(request(op, BODIES[op], xid=i + 1) for i, op in enumerate(ops))
    return replace(case, data=prelude + case.data)


CASE = st.builds(
    _with_prelude,
    st.one_of(oversized(), truncated_record(), bad_length_field(), eof_mid_frame(), random_frame()),
    st.lists(st.sampled_from(sorted(BODIES)), max_size=3),
)


# -- the server ------------------------------------------------------------------------


class Node:
    """The node under fuzz and the log file its lines go to."""

    def __init__(self, proc: NodeProcess) -> None:
        self.proc = proc
        self.port = proc.port
        self._read = 0
        self._peers: set[int] = set()

    def logged_ports(self) -> set[int]:
        """Client ports named in log lines so far (read incrementally: the log grows long)."""
        with open(self.proc.log_path, "rb") as f:
            f.seek(self._read)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # only whole lines
        self._read += end
        self._peers.update(int(p) for p in PEER.findall(chunk[:end]))
        return self._peers

    def alive(self) -> bool:
        return self.proc.alive()

    def log_text(self) -> str:
        return Path(self.proc.log_path).read_text(errors="replace")

    def ruok(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"ruok")
                return s.recv(16) == b"imok"
        except OSError:
            return False


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("fuzz")
    proc = launch_node(str(tmp / "data"), log_path=str(tmp / "node.log"))
    try:
        yield Node(proc)
    finally:
        proc.kill()


@pytest.fixture(scope="module")
def witness(node):
    """A kazoo session opened before the fuzzing that must survive all of it."""
    from kazoo.client import KazooClient

    zk = KazooClient(hosts=f"127.0.0.1:{node.port}", timeout=10)
    zk.start(timeout=15)
    zk.create("/witness", b"0")
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()


def check_witness(zk, n: int) -> None:
    zk.set("/witness", str(n).encode())
    assert zk.get("/witness")[0] == str(n).encode()


# -- running one case ------------------------------------------------------------------


def read_connect_response(s: socket.socket) -> None:
    head = _recv_exactly(s, 4)
    _recv_exactly(s, struct.unpack(">i", head)[0])


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise AssertionError("server closed the connection during the handshake")
        out += chunk
    return out


def run_case(port: int, case: Case, timeout: float = CLOSE_TIMEOUT) -> tuple[int, bool]:
    """Send the case; return (our port, whether the server closed before we half-closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        me = s.getsockname()[1]
        if case.handshake:
            s.sendall(frame(connect_body()))
            read_connect_response(s)
        try:
            s.sendall(case.data)
            if case.half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return me, True
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(
                f"the server neither answered nor closed within {timeout}s: {case.describe()}"
            ) from None
        return me, not case.half_close


# -- the tests -------------------------------------------------------------------------


def _expect_log_lines(node: Node, ports: dict[int, Case], wait: float = 10) -> None:
    """Every port of a definitely bad connection appears in some log line."""
    deadline = time.monotonic() + wait
    missing = dict(ports)
    while True:
        logged = node.logged_ports()
        missing = {p: c for p, c in missing.items() if p not in logged}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not missing, "no log line for these bad connections:\n" + "\n".join(
        f"  port {p}: {c.describe()}" for p, c in list(missing.items())[:10]
    )


@pytest.mark.parametrize(
    "case",
    [
        Case("oversized", False, i32(MAX_FRAME + 1) + b"x" * 16, True, False),
        Case("oversized", True, i32(2**31 - 1), True, False),
        Case("negative-length", True, i32(-5), True, False),
        Case("truncated-connect", False, frame(connect_body()[:20]), True, False),
        Case("short-header", True, frame(b"\0\0\0"), True, False),
        Case("truncated-create", True, request(1, BODIES[1][:9]), True, False),
        Case("bad-length", True, frame(i32(3) + i32(4) + i32(1 << 20) + b"/"), True, False),
        Case("four-unknown-letters", False, b"abcd", True, False),
        Case("empty", False, b"", False),
        Case("largest-frame", True, frame(i32(1) + i32(4) + bytes(MAX_FRAME - 8)), False),
        Case("eof-mid-frame", True, request(4, BODIES[4])[:7], False, logged=True),
        Case("eof-in-length", False, b"\0\0", False, logged=True),
    ],
    ids=lambda c: c.kind,
)
def test_known_bad_frames(node, witness, case):
    port, closed_by_server = run_case(node.port, case)
    assert node.alive(), node.log_text()[-3000:]
    if case.bad:
        assert closed_by_server, f"bad frame accepted silently: {case.describe()}"
    if case.must_log:
        _expect_log_lines(node, {port: case})
    check_witness(witness, port)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_fuzz_client_port(node, witness):
    """kazoo's threads draw from `random` while hypothesis generates: harmless, hence the filter."""
    bad_ports: dict[int, Case] = {}
    counts: dict[str, int] = {}
    started = time.monotonic()
    batch = max(50, CASES // 10)

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=CASE)
    def one(case: Case) -> None:
        note(case.describe())
        port, closed_by_server = run_case(node.port, case)
        assert node.alive(), f"zablab node died on {case.describe()}\n{node.log_text()[-3000:]}"
        if case.bad:
            assert closed_by_server, f"bad frame accepted silently: {case.describe()}"
        if case.must_log:
            bad_ports[port] = case
        counts[case.kind.split("-op")[0]] = counts.get(case.kind.split("-op")[0], 0) + 1
        total = sum(counts.values())
        if total % batch == 0:
            check_witness(witness, total)
            _expect_log_lines(node, bad_ports)
            bad_ports.clear()

    one()
    elapsed = time.monotonic() - started
    check_witness(witness, -1)
    _expect_log_lines(node, bad_ports)
    total = sum(counts.values())
    print(f"fuzz: {total} cases in {elapsed:.1f}s ({total / elapsed:.0f}/s): {counts}")
    assert total >= min(CASES, 100)
    stats = os.environ.get("ZABLAB_FUZZ_STATS")
    if stats:  # for bench/fuzz_client_port.py: a baseline rate on the same server
        t0, probes = time.monotonic(), 300
        for _ in range(probes):
            assert node.ruok()
        base = probes / (time.monotonic() - t0)
        Path(stats).write_text(
            json.dumps(
                {"cases": total, "seconds": elapsed, "kinds": counts, "baseline_per_s": base}
            )
        )


def test_half_sent_frames_on_many_connections_do_not_block_others(node, witness):
    """Connections stuck mid-frame (slow or dead clients) must not stall anyone else."""
    stuck = []
    try:
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", node.port), timeout=CLOSE_TIMEOUT)
            stuck.append(s)
            if i % 2:
                s.sendall(frame(connect_body()))
                read_connect_response(s)
            s.sendall(i32(4000) + b"partial")
        check_witness(witness, 40)
        assert node.ruok()
    finally:
        for s in stuck:
            s.close()
    assert node.alive()


# -- the checks themselves can fail ------------------------------------------------------


def test_a_server_that_swallows_bad_frames_is_caught():
    """A server that accepts a connection and never reacts fails run_case."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        held: list[socket.socket] = []

        def accept() -> None:
            conn, _ = srv.accept()
            held.append(conn)  # read nothing, close nothing

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        case = Case("oversized", False, i32(MAX_FRAME + 1), True, half_close=False)
        try:
            with pytest.raises(AssertionError, match="neither answered nor closed"):
                run_case(srv.getsockname()[1], case, timeout=0.5)
        finally:
            t.join(5)
            for c in held:
                c.close()


def test_a_missing_log_line_is_caught(tmp_path):
    class Silent(Node):
        def __init__(self) -> None:
            pass

        def logged_ports(self) -> set[int]:
            return {12345}

    case = Case("oversized", False, b"", True)
    _expect_log_lines(Silent(), {12345: case}, wait=0)
    with pytest.raises(AssertionError, match="no log line"):
        _expect_log_lines(Silent(), {1234: case}, wait=0.3)
