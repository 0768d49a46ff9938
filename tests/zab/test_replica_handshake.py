"""Only members that know the shared secret complete the HMAC challenge handshake."""

import pytest

from zablab.node.replica.handshake import Handshake, HandshakeError

SECRET = b"ensemble secret"
MEMBERS = {1, 2, 3}


def pair(secret_a=SECRET, secret_b=SECRET, dialer=1, members=MEMBERS):
    a = Handshake(dialer, secret_a, members, b"a" * 16, peer_id=2)
    b = Handshake(2, secret_b, MEMBERS, b"b" * 16)
    return a, b


def run(a, b):
    to_b = a.start()
    to_a = b.receive(to_b)
    to_b = a.receive(to_a)
    b.receive(to_b)


def test_members_with_the_secret_connect_and_keep_trailing_bytes():
    a, b = pair()
    hello = a.start()
    challenge = b.receive(hello)
    proof = a.receive(challenge)
    assert a.done and not b.done
    b.receive(proof + b"first zab frame")
    assert b.done and b.peer_id == 1 and b.leftover == b"first zab frame"


def test_split_delivery():
    a, b = pair()
    hello = a.start()
    out = b""
    for i in range(len(hello)):
        out += b.receive(hello[i : i + 1])
    proof = a.receive(out)
    b.receive(proof)
    assert a.done and b.done


def test_wrong_secret_is_refused_on_both_sides():
    a, b = pair(secret_a=b"guess")
    with pytest.raises(HandshakeError, match="does not know the shared secret"):
        run(a, b)  # the dialer catches the acceptor's bad MAC
    a, b = pair(secret_b=b"guess")
    with pytest.raises(HandshakeError, match="does not know the shared secret"):
        run(a, b)


def test_non_member_and_impostor_are_refused():
    a, b = pair(dialer=9, members={9, 2})
    with pytest.raises(HandshakeError, match="not a member"):
        run(a, b)
    a = Handshake(1, SECRET, MEMBERS, b"a" * 16, peer_id=3)  # dialled 3, 2 answers
    b = Handshake(2, SECRET, MEMBERS, b"b" * 16)
    with pytest.raises(HandshakeError, match="dialled server 3"):
        run(a, b)


def test_other_version_and_garbage_are_refused():
    a, b = pair()
    hello = bytearray(a.start())
    hello[6] = 9  # low byte of the version field
    with pytest.raises(HandshakeError, match="version"):
        b.receive(bytes(hello))
    _, b = pair()
    with pytest.raises(HandshakeError):
        b.receive(b"GET / HTTP/1.1\r\n\r\n")


def test_replayed_proof_does_not_open_a_new_connection():
    a, b = pair()
    hello = a.start()
    proof = a.receive(b.receive(hello))
    b.receive(proof)
    fresh = Handshake(2, SECRET, MEMBERS, b"c" * 16)  # a new nonce on the next accept
    fresh.receive(hello)
    with pytest.raises(HandshakeError, match="does not know the shared secret"):
        fresh.receive(proof)
