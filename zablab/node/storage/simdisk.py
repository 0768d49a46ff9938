"""An in-memory disk for the deterministic simulator, with the crash semantics that matter.

Every file has what the process sees and what would survive a power cut: appends and
truncations reach the durable copy only on ``fsync(name)``; creating or removing a file
becomes durable only on ``fsync_dir()`` (``write_atomic`` is durable when it returns, as the
real temp+fsync+rename+fsync-dir is). ``crash()`` rolls every file back to its durable state.
Given a seeded ``random.Random`` it keeps a random prefix of each file's unsynced appended
bytes instead, which is how a real crash can leave a torn last record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class _File:
    data: bytearray = field(default_factory=bytearray)
    durable: bytes = b""
    linked: bool = False  # the directory entry is durable


class SimDisk:
    def __init__(self, name: str = "sim") -> None:
        self.name = name
        self._files: dict[str, _File] = {}
        self._unlinked: dict[str, _File] = {}  # removed, but the removal is not yet durable
        self.fsyncs = 0
        self.bytes_written = 0
        self.crashes = 0

    def list(self) -> list[str]:
        return sorted(self._files)

    def _get(self, name: str) -> _File:
        try:
            return self._files[name]
        except KeyError:
            raise FileNotFoundError(f"{self.describe(name)}: no such file") from None

    def read(self, name: str) -> bytes:
        return bytes(self._get(name).data)

    def size(self, name: str) -> int:
        return len(self._get(name).data)

    def exists(self, name: str) -> bool:
        return name in self._files

    def append(self, name: str, data: bytes) -> None:
        f = self._files.get(name)
        if f is None:
            f = self._files[name] = _File()
        f.data += data
        self.bytes_written += len(data)

    def fsync(self, name: str) -> None:
        f = self._get(name)
        f.durable = bytes(f.data)
        self.fsyncs += 1

    def fsync_dir(self) -> None:
        for f in self._files.values():
            f.linked = True
        self._unlinked.clear()
        self.fsyncs += 1

    def truncate(self, name: str, size: int) -> None:
        del self._get(name).data[size:]

    def remove(self, name: str) -> None:
        f = self._files.pop(name)
        if f.linked:
            self._unlinked[name] = f

    def write_atomic(self, name: str, data: bytes) -> None:
        self._unlinked.pop(name, None)
        self._files[name] = _File(bytearray(data), bytes(data), True)
        self.bytes_written += len(data)
        self.fsyncs += 2

    def describe(self, name: str) -> str:
        return f"{self.name}:{name}"

    def close(self) -> None:
        pass

    def unsynced_bytes(self) -> int:
        """Bytes a crash now could lose (appended since the file's last fsync)."""
        return sum(max(0, len(f.data) - len(f.durable)) for f in self._files.values())

    def crash(self, rng: random.Random | None = None) -> None:
        """Lose everything not durable; with ``rng``, keep a random prefix of unsynced appends."""
        self.crashes += 1
        self._files.update(self._unlinked)
        self._unlinked.clear()
        survivors: dict[str, _File] = {}
        for name, f in self._files.items():
            if not f.linked:
                continue
            kept = f.durable
            if rng is not None and f.data.startswith(f.durable) and len(f.data) > len(f.durable):
                extra = rng.randint(0, len(f.data) - len(f.durable))
                kept = bytes(f.data[: len(f.durable) + extra])
            survivors[name] = _File(bytearray(kept), kept, True)
        self._files = survivors
