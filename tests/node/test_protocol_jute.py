"""Jute primitives, client records and txn records: round trips and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zablab.node.jute import JuteError, Reader, Writer
from zablab.node.protocol import (
    ACL,
    STAT,
    CheckVersionRequest,
    ConnectRequest,
    CreateRequest,
    DeleteRequest,
    Id,
    MultiRequest,
    OpCode,
    SetDataRequest,
    decode_body,
    encode_event,
    encode_multi_request,
    read_acls,
    write_acl,
)
from zablab.node.txn import (
    CheckVersionTxn,
    CloseSessionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
)

ints = st.integers(-(2**31), 2**31 - 1)
longs = st.integers(-(2**63), 2**63 - 1)


@given(ints, longs, st.booleans(), st.one_of(st.none(), st.binary()), st.text())
def test_primitives_round_trip(i, q, b, buf, s):
    data = Writer().int(i).long(q).bool(b).buffer(buf).ustring(s).bytes()
    r = Reader(data)
    assert (r.int(), r.long(), r.bool(), r.buffer(), r.ustring()) == (i, q, b, buf, s)
    assert r.remaining() == 0


def test_truncated_and_bogus_lengths_raise_jute_error():
    with pytest.raises(JuteError):
        Reader(b"\x00\x00").int()
    with pytest.raises(JuteError):
        Reader(Writer().int(10).bytes() + b"abc").buffer()
    with pytest.raises(JuteError):
        Reader(Writer().int(2**30).bytes()).buffer()
    with pytest.raises(JuteError):
        Reader(Writer().int(2).bytes() + b"\xff\xfe").ustring()
    with pytest.raises(JuteError):
        Reader(Writer().int(1000).bytes()).vector(Reader.int)


def test_connect_request_with_and_without_read_only_flag():
    new = ConnectRequest(0, 5, 30000, 77, b"p" * 16, True, True)
    assert ConnectRequest.decode(Reader(new.encode())) == new
    old = ConnectRequest(0, 5, 30000, 77, b"p" * 16, False, False)
    got = ConnectRequest.decode(Reader(old.encode()))
    assert not got.has_read_only


def test_acl_vector_round_trip():
    acls = [ACL(31, Id("world", "anyone")), ACL(1, Id("digest", "u:abc="))]
    data = Writer().vector(acls, write_acl).bytes()
    assert read_acls(Reader(data)) == acls


def test_multi_request_round_trip():
    ops = [
        (OpCode.CREATE, CreateRequest("/a", b"x", [ACL(31, Id("world", "anyone"))], 0)),
        (OpCode.SET_DATA, SetDataRequest("/a", b"y", 3)),
        (OpCode.CHECK, CheckVersionRequest("/a", 4)),
        (OpCode.DELETE, DeleteRequest("/a", -1)),
    ]
    m = decode_body(OpCode.MULTI, Reader(encode_multi_request(ops)))
    assert isinstance(m, MultiRequest)
    assert m.ops == ops


def test_multi_with_unknown_op_is_malformed():
    data = Writer().int(99).bool(False).int(-1).bytes()
    with pytest.raises(JuteError):
        decode_body(OpCode.MULTI, Reader(data))


def test_event_frame_layout():
    frame = encode_event(3, "/p")
    r = Reader(frame)
    assert r.int() == len(frame) - 4
    assert (r.int(), r.long(), r.int()) == (-1, -1, 0)
    assert (r.int(), r.int(), r.ustring()) == (3, 3, "/p")


def test_stat_is_68_bytes():
    assert STAT.size == 68


ACL1 = [ACL(31, Id("world", "anyone"))]


@pytest.mark.parametrize(
    "typ,body",
    [
        (OpCode.CREATE, CreateTxn("/a", b"d", ACL1, 0, 3)),
        (OpCode.CREATE2, CreateTxn("/a", b"", ACL1, 0x1234, 1)),
        (OpCode.DELETE, DeleteTxn("/a")),
        (OpCode.SET_DATA, SetDataTxn("/a", b"x" * 100, 7)),
        (OpCode.SET_ACL, SetACLTxn("/a", ACL1, 2)),
        (OpCode.CHECK, CheckVersionTxn("/a", 2)),
        (OpCode.CREATE_SESSION, CreateSessionTxn(4000)),
        (OpCode.CLOSE_SESSION, CloseSessionTxn()),
        (OpCode.ERROR, ErrorTxn(-101)),
        (
            OpCode.MULTI,
            MultiTxn(
                [
                    (OpCode.CREATE, CreateTxn("/m", b"", ACL1, 0, 1)),
                    (OpCode.ERROR, ErrorTxn(-110)),
                    (OpCode.SET_DATA, SetDataTxn("/m", b"z", 1)),
                ]
            ),
        ),
    ],
)
def test_txn_round_trip(typ, body):
    t = Txn(0x55, 9, (3 << 32) | 17, 1_700_000_000_000, typ, body)
    assert Txn.decode(t.encode()) == t


def test_write_request_forwarding_round_trip():
    from zablab.node.prep import WriteRequest

    raw = Writer().ustring("/a").buffer(b"x").int(3).bytes()
    req = WriteRequest(
        0x77, 5, OpCode.SET_DATA, SetDataRequest("/a", b"x", 3), [Id("ip", "1.2.3.4")], raw
    )
    assert WriteRequest.decode(req.encode()) == req
    sess = WriteRequest(0x78, 0, OpCode.CREATE_SESSION, 4000, [])
    assert WriteRequest.decode(sess.encode()) == sess
