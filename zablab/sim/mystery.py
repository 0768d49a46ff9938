"""Mystery tokens: a configuration that switches seeded bugs on without naming them.

A bug hunt (the bughunt lab) hands students a replica with one or more bugs switched on that
they must find by search. The simulator takes the token wherever it takes a bug name
(``zablab sim --bug mystery:...``); a saved trace keeps the token, not the names, so the
student's files, replays and diagrams never print what is on. The encoding only hides the
names from a casual look (the names are xor-ed with a keystream and the code is public): it is
a puzzle's sealed envelope, not a secret from someone who reads this file. Tokens made for
different courses differ (each carries its own nonce), so a token passed between courses
says nothing without decoding. A check tag makes a mistyped token one clear error rather than
a silently different configuration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from zablab.errors import UserError

PREFIX = "mystery:"
_KEY = b"zablab-mystery-token"
_NONCE, _TAG = 4, 4


def _stream(nonce: bytes, n: int) -> bytes:
    out = b""
    block = 0
    while len(out) < n:
        out += hashlib.sha256(_KEY + nonce + block.to_bytes(4, "big")).digest()
        block += 1
    return out[:n]


def _tag(body: bytes) -> bytes:
    return hmac.new(_KEY, body, hashlib.sha256).digest()[:_TAG]


def encode(bugs: Iterable[str], nonce: bytes) -> str:
    """The token switching ``bugs`` on; ``nonce`` (any bytes, e.g. from a course secret) makes
    tokens of different courses differ."""
    names = ",".join(sorted(set(bugs))).encode()
    names += b"\0" * (-len(names) % 24)  # so a token's length hardly hints at the names
    n = hashlib.sha256(nonce).digest()[:_NONCE]
    body = n + bytes(a ^ b for a, b in zip(names, _stream(n, len(names)), strict=True))
    raw = base64.b32encode(body + _tag(body)).decode().rstrip("=").lower()
    return PREFIX + raw


def is_token(name: str) -> bool:
    return name.strip().startswith(PREFIX)


def decode(token: str) -> tuple[str, ...]:
    """The bug names a token switches on; a malformed token is one UserError line."""
    raw = token.strip()[len(PREFIX) :].upper()
    try:
        data = base64.b32decode(raw + "=" * (-len(raw) % 8))
    except ValueError:  # binascii.Error is one
        data = b""
    body, tag = data[:-_TAG], data[-_TAG:]
    if len(body) <= _NONCE or not hmac.compare_digest(tag, _tag(body)):
        raise UserError(
            f"{token.strip()!r} is not a valid mystery token (mistyped? copy it whole, "
            "with its 'mystery:' prefix)."
        )
    n, sealed = body[:_NONCE], body[_NONCE:]
    names = bytes(a ^ b for a, b in zip(sealed, _stream(n, len(sealed)), strict=True))
    return tuple(names.rstrip(b"\0").decode().split(","))


def resolve(bugs: Iterable[str]) -> tuple[str, ...]:
    """Bug names with every mystery token replaced by the names it switches on."""
    out: list[str] = []
    for b in bugs:
        out.extend(decode(b) if is_token(b) else (b,))
    return tuple(out)
