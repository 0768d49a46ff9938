"""Jute, ZooKeeper's serialisation: big-endian ints, length-prefixed buffers and strings.

Reader raises JuteError on any truncated or impossible field so that a malformed frame from a
client ends that connection with one clear reason instead of an IndexError deep in a handler.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

INT = struct.Struct(">i")
LONG = struct.Struct(">q")
BOOL = struct.Struct(">?")
INT_INT = struct.Struct(">ii")
REPLY_HEADER = struct.Struct(">iqi")  # xid, zxid, err

_pack_int = INT.pack
_unpack_int = INT.unpack_from
_unpack_long = LONG.unpack_from

# jute.maxbuffer default of ZooKeeper 3.8 (0xfffff)
MAX_BUFFER = 0xFFFFF


class JuteError(ValueError):
    """A record could not be decoded: truncated, negative or oversized length, bad UTF-8."""


class Reader:
    __slots__ = ("buf", "pos", "end")

    def __init__(
        self, buf: bytes | memoryview, pos: builtins.int = 0, end: builtins.int | None = None
    ) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def remaining(self) -> builtins.int:
        return self.end - self.pos

    def _need(self, n: int) -> None:
        if self.pos + n > self.end:
            raise JuteError(f"record truncated: need {n} bytes at offset {self.pos}")

    # int and long inline _need: they are the hottest reads of the server and the simulator
    def int(self) -> builtins.int:
        pos = self.pos
        if pos + 4 > self.end:
            raise JuteError(f"record truncated: need 4 bytes at offset {pos}")
        self.pos = pos + 4
        return _unpack_int(self.buf, pos)[0]  # type: ignore[no-any-return]

    def long(self) -> builtins.int:
        pos = self.pos
        if pos + 8 > self.end:
            raise JuteError(f"record truncated: need 8 bytes at offset {pos}")
        self.pos = pos + 8
        return _unpack_long(self.buf, pos)[0]  # type: ignore[no-any-return]

    def bool(self) -> builtins.bool:
        self._need(1)
        v = self.buf[self.pos] != 0
        self.pos += 1
        return v

    def buffer(self) -> bytes | None:
        n = self.int()
        if n < 0:
            return None
        if n > MAX_BUFFER + 1024:
            raise JuteError(f"unreasonable buffer length {n}")
        pos = self.pos
        if pos + n > self.end:
            raise JuteError(f"record truncated: need {n} bytes at offset {pos}")
        self.pos = pos + n
        return bytes(self.buf[pos : pos + n])

    def ustring(self) -> str | None:
        n = self.int()
        if n < 0:
            return None
        if n > MAX_BUFFER + 1024:
            raise JuteError(f"unreasonable string length {n}")
        pos = self.pos
        if pos + n > self.end:
            raise JuteError(f"record truncated: need {n} bytes at offset {pos}")
        self.pos = pos + n
        raw = bytes(self.buf[pos : pos + n])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JuteError(f"string is not UTF-8: {exc.reason}") from None

    def vector(self, item: Callable[[Reader], T]) -> list[T] | None:
        n = self.int()
        if n < 0:
            return None
        if n > self.remaining():  # every element takes at least one byte
            raise JuteError(f"unreasonable vector length {n}")
        return [item(self) for _ in range(n)]

    def strings(self) -> list[str]:
        v = self.vector(Reader.ustring)
        return [s or "" for s in v] if v else []


class Writer:
    """Appends jute fields to a bytearray; cheap enough for the hot path."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def int(self, v: builtins.int) -> Writer:
        self.buf += _pack_int(v)
        return self

    def long(self, v: builtins.int) -> Writer:
        self.buf += LONG.pack(v)
        return self

    def bool(self, v: builtins.bool) -> Writer:
        self.buf.append(1 if v else 0)
        return self

    def buffer(self, v: bytes | None) -> Writer:
        if v is None:
            self.buf += _pack_int(-1)
        else:
            self.buf += _pack_int(len(v))
            self.buf += v
        return self

    def ustring(self, v: str | None) -> Writer:
        if v is None:
            self.buf += _pack_int(-1)
        else:
            b = v.encode("utf-8")
            self.buf += _pack_int(len(b))
            self.buf += b
        return self

    def raw(self, v: bytes) -> Writer:
        self.buf += v
        return self

    def vector(self, items: Iterable[T] | None, item: Callable[[Writer, T], object]) -> Writer:
        if items is None:
            self.buf += INT.pack(-1)
            return self
        lst = list(items)
        self.buf += INT.pack(len(lst))
        for x in lst:
            item(self, x)
        return self

    def strings(self, items: Iterable[str]) -> Writer:
        return self.vector(items, Writer.ustring)

    def bytes(self) -> bytes:
        return bytes(self.buf)
