"""Multi-Paxos's wire codec: every message round-trips; damaged frames are refused."""

from __future__ import annotations

import pytest

from zablab.node.paxos import messages as m
from zablab.node.paxos.codec import CODEC
from zablab.node.replica.codec import CodecError, FrameDecoder
from zablab.node.replica.factory import codec_of

SAMPLES = [
    m.Prepare(3, 7),
    m.Promise(
        3, m.pack_entries([(7, m.Entry(2, 5, b"x")), (8, m.Entry(2, 0, b""))]), 0, 0, 0, 0, b""
    ),
    m.Nack(9),
    m.Accept(3, 7, 12, b"payload"),
    m.Accepted(3, 7),
    m.Commit(3, 7),
    m.Heartbeat(3, 7, 1),
    m.Status(3, 6, b"\x00" * 8),
    m.Snap(3, 7, 5, 12, 12, b"tree"),
    m.Request(2, b"req"),
    m.SyncRequest(4),
    m.SyncReply(4, 7),
]


def test_every_message_type_round_trips_in_one_stream():
    assert {type(s) for s in SAMPLES} == set(m.TYPES)
    assert codec_of("paxos") is CODEC
    stream = b"".join(CODEC.encode(s) for s in SAMPLES)
    dec = FrameDecoder(CODEC)
    got = dec.feed(stream[:5]) + dec.feed(stream[5:])
    assert got == SAMPLES
    assert m.unpack_entries(SAMPLES[1].entries) == [
        (7, m.Entry(2, 5, b"x")),
        (8, m.Entry(2, 0, b"")),
    ]


def test_damaged_frames_and_entry_blobs_are_refused():
    frame = CODEC.encode(m.Accept(3, 7, 12, b"payload"))
    with pytest.raises(CodecError, match="wire version"):
        CODEC.decode_body(b"\x09" + frame[5:])
    with pytest.raises(CodecError):
        CODEC.decode_body(frame[4:-3])
    with pytest.raises(ValueError, match="truncated"):
        m.unpack_entries(b"\x00" * 5)
    with pytest.raises(ValueError, match="runs past"):
        m.unpack_entries(m.pack_entries([(1, m.Entry(1, 1, b"abc"))])[:-1])


def test_a_promise_with_a_damaged_entry_blob_is_dropped_and_the_replica_goes_on():
    from zablab.node.replica import ReplicaConfig
    from zablab.node.replica.factory import make_replica
    from zablab.node.storage import SimDisk, Storage
    from zablab.sim.app import SimApp

    r = make_replica(
        "paxos", 1, [1, 2, 3], ReplicaConfig(tick_ms=100), Storage(SimDisk()), SimApp()
    )
    r.start(0)
    r.on_tick(10_000)  # runs phase 1 in round 1
    assert r.on_message(10_001, 2, m.Promise(1, b"\x00" * 5, 0, 0, 0, 0, b"")) == []
    assert not r.is_leader  # the damaged promise did not count
    r.on_message(10_002, 3, m.Promise(1, b"", 0, 0, 0, 0, b""))
    assert r.is_leader
