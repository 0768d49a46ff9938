"""ZAB's wire codec: the replica codec (zablab/node/replica/codec.py) over ZAB's message table."""

from __future__ import annotations

from zablab.node.replica import codec as _codec
from zablab.node.replica.codec import MAX_FRAME, CodecError

from .messages import TYPES, Message

VERSION = 1
CODEC = _codec.Codec("ZAB", VERSION, TYPES)

__all__ = ["CODEC", "MAX_FRAME", "VERSION", "CodecError", "FrameDecoder", "decode_body", "encode"]


def encode(msg: Message) -> bytes:
    return CODEC.encode(msg)


def decode_body(body: bytes) -> Message:
    msg: Message = CODEC.decode_body(body)
    return msg


class FrameDecoder(_codec.FrameDecoder):
    """Frames of ZAB messages (peers.py reads each connection through one)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        super().__init__(CODEC, max_frame)
