"""Bad input at the framing layer: each bad connection is closed with one log line naming
the peer and the reason; everyone else keeps being served."""

from __future__ import annotations

import logging

import pytest

from zablab.node.jute import INT, Writer
from zablab.node.protocol import Err, OpCode
from zablab.node.testing import Bench


@pytest.fixture
def bench():
    b = Bench()
    good = b.client()
    good.connect()
    return b, good


def test_oversized_frame_drops_the_connection(bench, caplog):
    b, good = bench
    bad = b.client()
    bad.connect()
    with caplog.at_level(logging.WARNING, logger="zablab.node"):
        bad.send_raw(INT.pack(1048576) + b"x" * 10)
    assert bad.closed
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "127.0.0.1:" in lines[0] and "jute.maxbuffer" in lines[0]
    assert good.create("/still-ok").err == 0


def test_largest_allowed_frame_is_served(bench):
    b, good = bench
    data = b"x" * (1048575 - 200)
    r = good.create("/big", data)
    assert r.err == 0
    assert good.get("/big").reader().buffer() == data


def test_negative_length_drops_the_connection(bench):
    b, good = bench
    bad = b.client()
    bad.send_raw(INT.pack(-5))
    assert bad.closed


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # empty connect request
        b"\x00\x00\x00\x00\x00",  # truncated connect request
        Writer().int(0).long(0).int(3000).long(0).int(500).bytes(),  # passwd length past end
    ],
)
def test_malformed_connect_closes_with_one_log_line(bench, caplog, payload):
    b, good = bench
    bad = b.client()
    with caplog.at_level(logging.WARNING, logger="zablab.node"):
        bad.send_frame(payload)
    assert bad.closed
    assert len(caplog.records) == 1 and "malformed" in caplog.records[0].getMessage()
    assert good.exists("/").err == 0


def test_malformed_request_body_closes(bench, caplog):
    b, good = bench
    bad = b.client()
    bad.connect()
    with caplog.at_level(logging.WARNING, logger="zablab.node"):
        bad.send_frame(Writer().int(1).int(OpCode.CREATE).int(100).bytes())
    assert bad.closed
    assert "malformed request" in caplog.records[0].getMessage()
    assert good.exists("/").err == 0


def test_unknown_opcode_is_unimplemented_then_closed(bench):
    b, good = bench
    c = b.client()
    c.connect()
    r = c.call(77)
    assert r.err == Err.UNIMPLEMENTED
    assert c.closed


def test_reconfig_is_disabled_like_a_default_zookeeper(bench):
    b, good = bench
    r = good.call(OpCode.RECONFIG, Writer().ustring("").ustring("").ustring("").long(-1).bytes())
    assert r.err == Err.RECONFIGDISABLED
    assert not good.closed


def test_frames_split_across_reads_are_reassembled(bench):
    b, good = bench
    frame = Writer().int(9).int(OpCode.EXISTS).ustring("/").bool(False).bytes()
    raw = INT.pack(len(frame)) + frame
    for i in range(len(raw)):
        good.send_raw(raw[i : i + 1])
    (reply,) = good.read()
    assert reply.xid == 9 and reply.err == 0


def test_client_ahead_of_server_is_refused(bench):
    b, good = bench
    c = b.client()
    req = Writer().int(0).long(10**9).int(3000).long(0).buffer(bytes(16)).bool(False).bytes()
    c.send_frame(req)
    assert c.closed and not c.inbox


@pytest.mark.parametrize(
    "word,expect",
    [
        (b"ruok", "imok"),
        (b"isro", "rw"),
        (b"srvr", "Mode: standalone"),
        (b"stat", "Clients:"),
        (b"mntr", "zk_server_state\tstandalone"),
        (b"envi", "zookeeper.version=3.8"),
        (b"conf", "tickTime=200"),
        (b"cons", "sid=0x"),
        (b"wchs", "Total watches:"),
        (b"dump", "Sessions with Ephemerals"),
    ],
)
def test_four_letter_words(bench, word, expect):
    b, good = bench
    c = b.client()
    c.send_raw(word)
    assert c.closed
    assert expect in c.inbox.decode()


def test_too_many_connections_from_one_ip():
    b = Bench()
    b.core.max_cnxns = 2
    b.client("10.0.0.1")
    b.client("10.0.0.1")
    with pytest.raises(AssertionError):
        b.client("10.0.0.1")
    b.client("10.0.0.2")


def test_eof_in_the_middle_of_a_frame_is_logged(bench, caplog):
    b, good = bench
    c = b.client()
    c.connect()
    with caplog.at_level(logging.WARNING, logger="zablab.node"):
        c.send_raw(INT.pack(20) + b"abc")
        b.core.closed(c.cid)
    (rec,) = caplog.records
    assert (
        "middle of a frame (7 of 24 bytes)" in rec.getMessage() and "127.0.0.1:" in rec.getMessage()
    )
