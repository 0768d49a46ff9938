"""A client write as Paxos decides it in ``commands`` mode: the request itself, not a txn.

State-machine replication replicates what the client asked for; each server turns it into a
txn against its own tree when the command is delivered. That prep must come out the same on
every server, so everything it reads is either in the command or agreed: the request and the
primary's wall clock when it proposed (a node's ctime/mtime) travel here, the zxid is the slot's,
and session liveness is read from the replicated session table (``Prep.prep``'s
``agreed_sessions``). A tag in front tells a command from a txn, so a server configured with
the other mode fails loudly on the first delivery instead of applying garbage.
"""

from __future__ import annotations

import struct

from .prep import WriteRequest

TAG = b"\xffZCMD1"  # a txn starts with its session id, whose top byte is a server id
_TIME = struct.Struct(">q")


class ModeMismatch(ValueError):
    """A delivered payload is not what this server's Paxos mode replicates."""


def encode_command(wall_ms: int, request: WriteRequest) -> bytes:
    return TAG + _TIME.pack(wall_ms) + request.encode()


def decode_command(payload: bytes) -> tuple[int, WriteRequest]:
    """(the primary's wall time, the request) of a command."""
    if not payload.startswith(TAG):
        raise ModeMismatch(
            "a delivered value is a txn, not a command: every server of the ensemble must run "
            "the same zablab.paxos.mode"
        )
    (wall,) = _TIME.unpack_from(payload, len(TAG))
    return wall, WriteRequest.decode(payload[len(TAG) + _TIME.size :])


def is_command(payload: bytes) -> bool:
    return payload.startswith(TAG)
