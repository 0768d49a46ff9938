"""Peer wire format of any replica protocol: length-prefixed frames carrying a version byte, a
type byte and the message fields in declaration order (int: 8-byte signed, bytes/str: 4-byte
length + data).

The codec is built from a protocol's message table (record class -> type code) and its wire
version, so ZAB and a Multi-Paxos replica share the framing but not their codes. Sans-IO in the
manner of h11: ``codec.encode(msg) -> bytes``; ``FrameDecoder(codec).feed(data)`` returns the
complete messages seen so far and keeps any partial frame for the next call.
"""

from __future__ import annotations

import struct
import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

MAX_FRAME = 256 << 20  # a snapshot travels in one frame

_LEN = struct.Struct(">I")
_HEAD = struct.Struct(">BB")
_INT = struct.Struct(">q")


class CodecError(Exception):
    """A peer sent something that is not a valid frame; the connection must be dropped."""


class Codec:
    def __init__(self, name: str, version: int, table: Mapping[type, int]) -> None:
        self.name = name
        self.version = version
        self.codes = dict(table)
        self.by_code = {code: cls for cls, code in table.items()}
        if len(self.by_code) != len(self.codes):
            raise ValueError(f"{name} message table reuses a type code")
        self._layouts: dict[type, list[tuple[str, Any]]] = {}

    def _layout(self, cls: type) -> list[tuple[str, Any]]:
        lay = self._layouts.get(cls)
        if lay is None:
            hints = typing.get_type_hints(cls)
            lay = self._layouts[cls] = [(f.name, hints[f.name]) for f in fields(cls)]
        return lay

    def encode(self, msg: Any) -> bytes:
        body = bytearray(_HEAD.pack(self.version, self.codes[type(msg)]))
        for name, kind in self._layout(type(msg)):
            v = getattr(msg, name)
            if kind is int:
                body += _INT.pack(v)
            elif kind is bytes:
                body += _LEN.pack(len(v)) + v
            elif kind is str:
                raw = v.encode("utf-8")
                body += _LEN.pack(len(raw)) + raw
            else:  # pragma: no cover - message tables only use the kinds above
                raise TypeError(f"cannot encode field {name} of type {kind}")
        return _LEN.pack(len(body)) + bytes(body)

    def decode_body(self, body: bytes) -> Any:
        if len(body) < _HEAD.size:
            raise CodecError("frame too short for its header")
        version, code = _HEAD.unpack_from(body)
        if version != self.version:
            raise CodecError(
                f"peer speaks {self.name} wire version {version}, this server speaks {self.version}"
            )
        cls = self.by_code.get(code)
        if cls is None:
            raise CodecError(f"unknown message type {code}")
        off = _HEAD.size
        values: dict[str, Any] = {}
        try:
            for name, kind in self._layout(cls):
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
        return cls(**values)


class FrameDecoder:
    def __init__(self, codec: Codec, max_frame: int = MAX_FRAME) -> None:
        self.codec = codec
        self.buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> list[Any]:
        self.buf += data
        out: list[Any] = []
        while len(self.buf) >= _LEN.size:
            (n,) = _LEN.unpack_from(self.buf)
            if n > self.max_frame:
                raise CodecError(f"frame of {n} bytes exceeds the limit of {self.max_frame}")
            if len(self.buf) < _LEN.size + n:
                break
            body = bytes(self.buf[_LEN.size : _LEN.size + n])
            del self.buf[: _LEN.size + n]
            out.append(self.codec.decode_body(body))
        return out
