"""The peer wire codec: every message survives a round trip, bad frames are refused."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zablab.node.zab import messages as m
from zablab.node.zab.codec import VERSION, CodecError, FrameDecoder, encode

SAMPLES = [
    m.Notification(3, 0x100000002, 1, 7, m.LOOKING),
    m.FollowerInfo(4, 0x400000009),
    m.LeaderInfo(5),
    m.AckEpoch(4, 0x400000009),
    m.Diff(0x500000000),
    m.Trunc(0x400000003, 0x500000001),
    m.Snap(0x400000003, 17, b"\x00state\xff", 0x500000001),
    m.Proposal(0x500000001, b"payload"),
    m.Commit(0x500000001),
    m.NewLeader(0x500000000),
    m.Ack(0x500000001),
    m.UpToDate(0x500000001),
    m.Ping(),
    m.Ping(b"\x00\x01sessions"),
    m.Request(2, b"create /x"),
    m.SyncRequest(99),
    m.SyncReply(99),
]


def test_every_message_type_has_a_sample():
    assert {type(s) for s in SAMPLES} == set(m.TYPES)


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda s: type(s).__name__)
def test_round_trip(msg):
    assert FrameDecoder().feed(encode(msg)) == [msg]


def test_byte_by_byte_and_batched():
    stream = b"".join(encode(s) for s in SAMPLES)
    dec = FrameDecoder()
    got = []
    for i in range(len(stream)):
        got += dec.feed(stream[i : i + 1])
    assert got == SAMPLES
    assert FrameDecoder().feed(stream) == SAMPLES


def test_version_field_is_checked():
    frame = bytearray(encode(m.Ping()))
    frame[4] = VERSION + 1
    with pytest.raises(CodecError, match="version"):
        FrameDecoder().feed(bytes(frame))


def test_unknown_type_truncated_and_oversized_frames():
    with pytest.raises(CodecError, match="unknown message type"):
        FrameDecoder().feed(struct.pack(">IBB", 2, VERSION, 200))
    body = encode(m.Commit(5))[4:-3]  # cut into the zxid
    with pytest.raises(CodecError, match="truncated"):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)
    with pytest.raises(CodecError, match="exceeds"):
        FrameDecoder(max_frame=10).feed(encode(m.Proposal(1, b"x" * 20)))
    body = encode(m.Proposal(1, b"abc"))[4:] + b"junk"
    with pytest.raises(CodecError, match="trailing"):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_garbage_gives_codec_errors_only(data):
    try:
        FrameDecoder(max_frame=1 << 16).feed(data)
    except CodecError:
        pass


@given(
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=64),
    st.text(max_size=8),
)
@settings(max_examples=100, deadline=None)
def test_fields_round_trip(n, blob, text):
    for msg in (m.Proposal(n, blob), m.Snap(n, n, blob, n), m.Notification(n, n, n, n, text)):
        assert FrameDecoder().feed(encode(msg)) == [msg]
