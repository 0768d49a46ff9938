"""The fault proxy: forwarding, partitions that really block, heal, loss, delay, the ZK rewrite."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from zablab.harness.backends.local import ProxyNet
from zablab.harness.faults.proxy import FaultProxy


class Echo:
    """A TCP echo server that also remembers the first bytes of each connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.first: list[bytes] = []
        self._stop = False
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c: socket.socket) -> None:
        with c:
            first = True
            while True:
                try:
                    data = c.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                if first:
                    self.first.append(data)
                    first = False
                c.sendall(data)

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture
def setup() -> Iterator[tuple[FaultProxy, Echo, ProxyNet]]:
    echo = Echo()
    proxy = FaultProxy(seed=1)
    for a, b in (("n1", "n2"), ("n2", "n1")):
        proxy.add_link(a, b, ("127.0.0.1", echo.port), "quorum")
    try:
        yield proxy, echo, ProxyNet(proxy, ["n1", "n2"])
    finally:
        proxy.close()
        echo.close()


def roundtrip(port: int, payload: bytes = b"hello") -> bytes | None:
    """Send and read the echo; None if the connection was refused, reset or closed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                got += chunk
            return got
    except OSError:
        return None


def test_forwards_both_ways(setup):
    proxy, echo, _ = setup
    assert roundtrip(proxy.port("n1", "n2", "quorum")) == b"hello"


def test_partition_blocks_new_and_existing_connections_and_heal_restores(setup):
    proxy, echo, net = setup
    port = proxy.port("n1", "n2", "quorum")
    live = socket.create_connection(("127.0.0.1", port), timeout=2)
    live.sendall(b"x")
    assert live.recv(10) == b"x"
    net.partition({"n2": {"n1"}})  # n2 no longer hears n1
    assert net.rules("n2") == ["drop from n1"]
    # the established connection is cut...
    live.settimeout(2)
    try:
        live.sendall(b"y")
        data = live.recv(10)
    except OSError:
        data = b""
    assert data == b""
    live.close()
    # ...new ones in either direction are refused (TCP cannot be one-way)
    assert roundtrip(port) is None
    assert roundtrip(proxy.port("n2", "n1", "quorum")) is None
    net.heal()
    assert net.rules("n2") == []
    assert roundtrip(port) == b"hello"


def test_partition_of_other_pair_does_not_block(setup):
    proxy, echo, net = setup
    proxy.add_link("n1", "n3", ("127.0.0.1", echo.port), "quorum")
    net.names.append("n3")
    net.partition({"n3": {"n2"}, "n2": {"n3"}})
    assert roundtrip(proxy.port("n1", "n2", "quorum")) == b"hello"
    assert roundtrip(proxy.port("n1", "n3", "quorum")) == b"hello"


def test_loss_with_certainty_refuses_and_zero_loss_passes(setup):
    proxy, echo, net = setup
    net.loss(["n2"], 1.0)
    assert roundtrip(proxy.port("n1", "n2", "quorum")) is None
    assert proxy.stats["refused"] >= 1
    net.heal()
    assert roundtrip(proxy.port("n1", "n2", "quorum")) == b"hello"


def test_delay_still_delivers(setup):
    proxy, echo, net = setup
    net.delay(["n2"], 50)
    assert net.rules("n2") == ["delay 50ms from n1"]
    assert roundtrip(proxy.port("n1", "n2", "quorum")) == b"hello"


def test_zookeeper_initial_message_address_is_rewritten(setup):
    proxy, echo, _ = setup
    proxy.add_link("n1", "n2", ("127.0.0.1", echo.port), "election")
    proxy.set_advertise("n1", "n2", "election", "127.0.0.1:4242")
    addr = b"127.0.0.1:9999"
    msg = struct.pack(">qqi", -65535, 1, len(addr)) + addr
    got = roundtrip(proxy.port("n1", "n2", "election"), msg + b"tail")
    new = b"127.0.0.1:4242"
    assert got == struct.pack(">qqi", -65535, 1, len(new)) + new + b"tail"


def test_other_protocols_pass_untouched(setup):
    proxy, echo, _ = setup
    proxy.add_link("n1", "n2", ("127.0.0.1", echo.port), "election")
    proxy.set_advertise("n1", "n2", "election", "127.0.0.1:4242")
    payload = struct.pack(">q", 7) + b"not zookeeper"
    assert roundtrip(proxy.port("n1", "n2", "election"), payload) == payload


def test_close_stops_listening():
    proxy = FaultProxy()
    port = proxy.add_link("a", "b", ("127.0.0.1", 9), "peer")
    proxy.close()
    proxy.close()  # twice is fine
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
