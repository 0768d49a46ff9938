"""The application the simulator replicates: the ordered list of delivered payloads.

Keeping the whole list (not a digest) lets the checks say which acknowledged write went missing.
"""

from __future__ import annotations

import struct

_ENTRY = struct.Struct(">QI")


class SimApp:
    def __init__(self) -> None:
        self.entries: list[tuple[int, bytes]] = []
        self.anomalies: list[str] = []

    @property
    def last_zxid(self) -> int:
        return self.entries[-1][0] if self.entries else 0

    def apply(self, zxid: int, payload: bytes, pos: int) -> None:
        if pos != len(self.entries):
            self.anomalies.append(f"txn 0x{zxid:x} delivered at pos {pos} onto {len(self.entries)}")
        if zxid <= self.last_zxid:
            self.anomalies.append(f"txn 0x{zxid:x} delivered after 0x{self.last_zxid:x}")
        self.entries.append((zxid, payload))

    def snapshot(self) -> tuple[int, bytes]:
        out = bytearray()
        for zxid, payload in self.entries:
            out += _ENTRY.pack(zxid, len(payload)) + payload
        return self.last_zxid, bytes(out)

    def install(self, zxid: int, data: bytes, pos: int) -> None:
        entries: list[tuple[int, bytes]] = []
        off = 0
        while off < len(data):
            z, n = _ENTRY.unpack_from(data, off)
            off += _ENTRY.size
            entries.append((z, data[off : off + n]))
            off += n
        if len(entries) != pos or (entries and entries[-1][0] != zxid):
            self.anomalies.append(f"snapshot 0x{zxid:x} pos {pos} holds {len(entries)} txns")
        self.entries = entries
