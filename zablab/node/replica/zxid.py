"""zxid = epoch << 32 | counter: the high half names the leader's epoch, the low half counts
its proposals, so comparing zxids compares (epoch, counter)."""

from __future__ import annotations

import hashlib


def make_zxid(epoch: int, counter: int) -> int:
    return (epoch << 32) | counter


def epoch_of(zxid: int) -> int:
    return zxid >> 32


def counter_of(zxid: int) -> int:
    return zxid & 0xFFFFFFFF


def fmt(zxid: int) -> str:
    """Human form used in logs and traces: ``0x<epoch>:<counter>``."""
    return f"0x{epoch_of(zxid):x}:{counter_of(zxid)}"


def txn_hash(payload: bytes) -> str:
    """The short content hash a trace carries (``txn``), so agreement is checked on content."""
    return hashlib.blake2b(payload, digest_size=8).hexdigest()
