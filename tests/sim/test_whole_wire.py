"""The simulated clients' wire codec against the real server core (standalone, no sockets)."""

from __future__ import annotations

from zablab.node.protocol import EPHEMERAL, PERSISTENT_SEQUENTIAL, Err
from zablab.node.testing import Bench
from zablab.sim import wire


class _Pipe:
    """One connection of a WireConn to a Bench's core, bytes moved by hand."""

    def __init__(self, bench: Bench, conn: wire.WireConn) -> None:
        self.bench, self.conn = bench, conn
        self.cid = 99
        assert bench.core.open(self.cid, "10.0.0.1:4000", "10.0.0.1")

    def push(self, data: bytes) -> tuple[wire.Session | None, list[wire.Reply]]:
        b = self.bench
        b.core.data(self.cid, data)
        b.repl.flush(lambda batch: None)  # commit what the core submitted
        out = b"".join(d for cid, d, _ in b.core.take_output() if cid == self.cid)
        # fed in two pieces: a frame split across reads is reassembled
        first = self.conn.receive(out[:5])
        second = self.conn.receive(out[5:])
        return first[0] or second[0], first[1] + second[1]

    def call(self, *reqs: wire.Request) -> list[wire.Reply]:
        frames = b""
        for r in reqs:
            _, f = self.conn.frame(r)
            frames += f
        return self.push(frames)[1]


def test_connect_requests_and_replies_round_trip() -> None:
    bench = Bench()
    conn = wire.WireConn(None, 0, 4000)
    p = _Pipe(bench, conn)
    session, _ = p.push(conn.connect_frame())
    assert session is not None and session.id != 0 and conn.connected
    [r] = p.call(wire.create("/a", b"1"))
    assert r.err == Err.OK and wire.path_of(r) == "/a"
    [r] = p.call(wire.create("/a"))
    assert r.err == Err.NODEEXISTS
    s, g = p.call(wire.sync("/a"), wire.get_data("/a"))  # pipelined, answered in order
    data, stat = wire.data_and_stat(g)
    assert s.err == 0 and data == b"1" and stat[4] == 0
    [w] = p.call(wire.set_data("/a", b"2", version=0))
    assert w.err == 0 and w.stat()[4] == 1 and w.stat()[1] == w.zxid
    [bad] = p.call(wire.set_data("/a", b"3", version=0))
    assert bad.err == Err.BADVERSION
    p.call(wire.create("/a/x-", b"", PERSISTENT_SEQUENTIAL), wire.create("/a/e", b"", EPHEMERAL))
    [c] = p.call(wire.get_children("/a"))
    assert sorted(wire.children_of(c)) == ["e", "x-0000000000"]
    assert conn.last_zxid == bench.core.tree.last_zxid
    _, replies = p.push(conn.ping_frame())
    assert replies == []  # the ping's answer is not a reply to any request


def test_an_unknown_session_is_answered_with_id_zero() -> None:
    bench = Bench()
    conn = wire.WireConn(wire.Session(12345, bytes(16), 4000), 0, 4000)
    session, _ = _Pipe(bench, conn).push(conn.connect_frame())
    assert session is not None and session.id == 0
