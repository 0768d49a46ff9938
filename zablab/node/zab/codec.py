"""Peer wire format: length-prefixed frames carrying a version byte, a type byte and the
message fields in declaration order (int: 8-byte signed, bytes/str: 4-byte length + data).

Sans-IO in the manner of h11: ``encode(msg) -> bytes``; ``FrameDecoder.feed(data)`` returns
the complete messages seen so far and keeps any partial frame for the next call.
"""

from __future__ import annotations

import struct
import typing
from dataclasses import fields
from typing import Any

from .messages import TYPES, Message

VERSION = 1
MAX_FRAME = 256 << 20  # a SNAP carries a whole snapshot

_LEN = struct.Struct(">I")
_HEAD = struct.Struct(">BB")
_INT = struct.Struct(">q")

_BY_CODE = {code: cls for cls, code in TYPES.items()}
_KINDS: dict[type, list[tuple[str, Any]]] = {}


class CodecError(Exception):
    """A peer sent something that is not a valid frame; the connection must be dropped."""


def _layout(cls: type) -> list[tuple[str, Any]]:
    lay = _KINDS.get(cls)
    if lay is None:
        hints = typing.get_type_hints(cls)
        lay = _KINDS[cls] = [(f.name, hints[f.name]) for f in fields(cls)]
    return lay


def encode(msg: Message) -> bytes:
    body = bytearray(_HEAD.pack(VERSION, TYPES[type(msg)]))
    for name, kind in _layout(type(msg)):
        v = getattr(msg, name)
        if kind is int:
            body += _INT.pack(v)
        elif kind is bytes:
            body += _LEN.pack(len(v)) + v
        elif kind is str:
            raw = v.encode("utf-8")
            body += _LEN.pack(len(raw)) + raw
        else:  # pragma: no cover - messages.py only uses the kinds above
            raise TypeError(f"cannot encode field {name} of type {kind}")
    return _LEN.pack(len(body)) + bytes(body)


def decode_body(body: bytes) -> Message:
    if len(body) < _HEAD.size:
        raise CodecError("frame too short for its header")
    version, code = _HEAD.unpack_from(body)
    if version != VERSION:
        raise CodecError(f"peer speaks ZAB wire version {version}, this server speaks {VERSION}")
    cls = _BY_CODE.get(code)
    if cls is None:
        raise CodecError(f"unknown message type {code}")
    off = _HEAD.size
    values: dict[str, Any] = {}
    try:
        for name, kind in _layout(cls):
            if kind is int:
                values[name] = _INT.unpack_from(body, off)[0]
                off += _INT.size
            else:
                (n,) = _LEN.unpack_from(body, off)
                off += _LEN.size
                if off + n > len(body):
                    raise CodecError(f"{cls.__name__}.{name} runs past the frame")
                raw = body[off : off + n]
                off += n
                values[name] = raw.decode("utf-8") if kind is str else bytes(raw)
    except struct.error:
        raise CodecError(f"{cls.__name__} frame is truncated") from None
    except UnicodeDecodeError:
        raise CodecError(f"{cls.__name__} carries invalid UTF-8") from None
    if off != len(body):
        raise CodecError(f"{cls.__name__} frame has {len(body) - off} trailing bytes")
    return cls(**values)  # type: ignore[no-any-return]


class FrameDecoder:
    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> list[Message]:
        self.buf += data
        out: list[Message] = []
        while len(self.buf) >= _LEN.size:
            (n,) = _LEN.unpack_from(self.buf)
            if n > self.max_frame:
                raise CodecError(f"frame of {n} bytes exceeds the limit of {self.max_frame}")
            if len(self.buf) < _LEN.size + n:
                break
            body = bytes(self.buf[_LEN.size : _LEN.size + n])
            del self.buf[: _LEN.size + n]
            out.append(decode_body(body))
        return out
