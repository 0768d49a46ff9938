"""Small integers kept in their own file (ZAB's currentEpoch and acceptedEpoch), replaced
atomically so a crash leaves the old or the new value, never a mix."""

from __future__ import annotations

import os

from .disk import Disk
from .errors import CorruptStorage
from .txnlog import as_disk


class StateFile:
    def __init__(
        self, where: Disk | str | os.PathLike[str], name: str, *, fsync: bool = True
    ) -> None:
        self.disk = as_disk(where, fsync)
        self.name = name

    def read(self, default: int | None = None) -> int | None:
        if not self.disk.exists(self.name):
            return default
        raw = self.disk.read(self.name)
        try:
            return int(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise CorruptStorage(
                self.disk.describe(self.name), 0, f"expected one integer, found {raw[:40]!r}"
            ) from None

    def write(self, value: int) -> None:
        self.disk.write_atomic(self.name, f"{int(value)}\n".encode("ascii"))
