"""Mutual authentication of a new peer connection by an HMAC challenge (sans-IO).

Only servers that know the ensemble's shared secret and whose id is a configured member can
join. Both sides contribute a fresh nonce and prove knowledge of the secret over both nonces
and both ids, so a recorded handshake cannot be replayed and neither side can be impersonated::

    initiator -> HELLO(version, id_i, nonce_i)
    acceptor  -> CHALLENGE(version, id_a, nonce_a, HMAC(secret, "acceptor"  | ids | nonces))
    initiator -> PROOF(HMAC(secret, "initiator" | ids | nonces))

Nonces are passed in (``os.urandom(16)`` at runtime, a seeded RNG in tests).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Collection

VERSION = 1
NONCE = 16
_LEN = struct.Struct(">I")
_HELLO = struct.Struct(">BHq16s")
_CHALLENGE = struct.Struct(">BHq16s32s")
_PROOF = struct.Struct(">B32s")
HELLO, CHALLENGE, PROOF = 1, 2, 3


class HandshakeError(Exception):
    """The peer is not a member, uses another version or does not know the secret."""


def _frame(payload: bytes) -> bytes:
    return _LEN.pack(len(payload)) + payload


class Handshake:
    def __init__(
        self,
        my_id: int,
        secret: bytes,
        members: Collection[int],
        nonce: bytes,
        *,
        peer_id: int | None = None,
    ) -> None:
        """``peer_id`` given: we dial that server (initiator); None: we accept a connection."""
        if len(nonce) != NONCE:
            raise ValueError(f"nonce must be {NONCE} bytes")
        if not secret:
            raise ValueError("the shared secret must not be empty")
        self.my_id = my_id
        self.secret = secret
        self.members = set(members)
        self.nonce = nonce
        self.initiator = peer_id is not None
        self.peer_id = peer_id
        self.peer_nonce = b""
        self.done = False
        self.leftover = b""  # bytes after the handshake: the first ZAB frames
        self._buf = bytearray()

    def start(self) -> bytes:
        if not self.initiator:
            return b""
        return _frame(_HELLO.pack(HELLO, VERSION, self.my_id, self.nonce))

    def receive(self, data: bytes) -> bytes:
        """Feed bytes from the peer; returns bytes to send (possibly empty)."""
        if self.done:
            self.leftover += data
            return b""
        self._buf += data
        out = b""
        while not self.done and len(self._buf) >= _LEN.size:
            (n,) = _LEN.unpack_from(self._buf)
            if n > 256:
                raise HandshakeError("handshake message too long; is the peer a ZAB server?")
            if len(self._buf) < _LEN.size + n:
                break
            msg = bytes(self._buf[_LEN.size : _LEN.size + n])
            del self._buf[: _LEN.size + n]
            out += self._handle(msg)
        if self.done:
            self.leftover += bytes(self._buf)
            self._buf.clear()
        return out

    def _mac(self, role: bytes, initiator: int, acceptor: int, n_i: bytes, n_a: bytes) -> bytes:
        text = role + struct.pack(">qq", initiator, acceptor) + n_i + n_a
        return hmac.new(self.secret, text, hashlib.sha256).digest()

    def _handle(self, msg: bytes) -> bytes:
        kind = msg[:1]
        if self.initiator and kind == bytes([CHALLENGE]) and len(msg) == _CHALLENGE.size:
            _, version, peer, n_a, mac = _CHALLENGE.unpack(msg)
            self._check_version(version)
            if peer != self.peer_id:
                raise HandshakeError(f"dialled server {self.peer_id} but server {peer} answered")
            want = self._mac(b"acceptor", self.my_id, peer, self.nonce, n_a)
            if not hmac.compare_digest(mac, want):
                raise HandshakeError(
                    f"server {peer} does not know the shared secret (ZABLAB_ENSEMBLE_SECRET)"
                )
            self.peer_nonce = n_a
            self.done = True
            proof = self._mac(b"initiator", self.my_id, peer, self.nonce, n_a)
            return _frame(_PROOF.pack(PROOF, proof))
        if not self.initiator and kind == bytes([HELLO]) and len(msg) == _HELLO.size:
            if self.peer_id is not None:
                raise HandshakeError("second HELLO on one connection")
            _, version, peer, n_i = _HELLO.unpack(msg)
            self._check_version(version)
            if peer not in self.members or peer == self.my_id:
                raise HandshakeError(f"server {peer} is not a member of this ensemble")
            self.peer_id, self.peer_nonce = peer, n_i
            mac = self._mac(b"acceptor", peer, self.my_id, n_i, self.nonce)
            return _frame(_CHALLENGE.pack(CHALLENGE, VERSION, self.my_id, self.nonce, mac))
        if not self.initiator and kind == bytes([PROOF]) and len(msg) == _PROOF.size:
            if self.peer_id is None:
                raise HandshakeError("PROOF before HELLO")
            _, mac = _PROOF.unpack(msg)
            want = self._mac(b"initiator", self.peer_id, self.my_id, self.peer_nonce, self.nonce)
            if not hmac.compare_digest(mac, want):
                raise HandshakeError(
                    f"server {self.peer_id} does not know the shared secret (ZABLAB_ENSEMBLE_SECRET)"
                )
            self.done = True
            return b""
        raise HandshakeError("unexpected handshake message; is the peer a ZAB server?")

    @staticmethod
    def _check_version(version: int) -> None:
        if version != VERSION:
            raise HandshakeError(
                f"peer speaks handshake version {version}, this server speaks {VERSION}"
            )
