"""The few file operations storage needs, so the same log and snapshot code runs on a real
directory (OsDisk) and on the simulator's in-memory disk (SimDisk).

Names are plain file names inside one data directory; there are no subdirectories.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class Disk(Protocol):
    def list(self) -> list[str]:
        """File names, sorted."""
        ...

    def read(self, name: str) -> bytes: ...

    def size(self, name: str) -> int: ...

    def exists(self, name: str) -> bool: ...

    def append(self, name: str, data: bytes) -> None:
        """Write at the end, creating the file; not durable until fsync()."""
        ...

    def fsync(self, name: str) -> None: ...

    def fsync_dir(self) -> None:
        """Make file creations and removals durable."""
        ...

    def truncate(self, name: str, size: int) -> None:
        """Cut the file to ``size`` bytes; not durable until fsync()."""
        ...

    def remove(self, name: str) -> None: ...

    def write_atomic(self, name: str, data: bytes) -> None:
        """Replace the whole file so that a crash leaves either the old or the new content."""
        ...

    def describe(self, name: str) -> str:
        """How to name the file in an error message (its path)."""
        ...

    def close(self) -> None: ...


PREALLOCATE = 4 << 20


class OsDisk:
    """A real directory. ``fsync=False`` skips every fsync (benchmarks only: loses data on crash).

    Appended files grow in zero-filled steps of ``preallocate`` bytes, written ahead as ZooKeeper
    does with its log: an fdatasync after a write inside already-written space commits no size
    change, which makes the per-batch sync markedly cheaper. Readers see the zeros after the
    last record; the log's scanner treats them as the end of the newest segment, and the log
    cuts a segment to its real size before starting the next one.
    """

    TEMP_SUFFIX = ".tmp"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: bool = True,
        preallocate: int = PREALLOCATE,
    ) -> None:
        self.path = Path(directory)
        self.path.mkdir(parents=True, exist_ok=True)
        self.do_fsync = fsync
        self.preallocate = preallocate
        self._fds: dict[str, int] = {}
        self._end: dict[str, int] = {}  # where the next append goes
        self._alloc: dict[str, int] = {}  # bytes of the file that exist (data or zeros)

    def _p(self, name: str) -> str:
        return os.path.join(self.path, name)

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            fd = os.open(self._p(name), os.O_WRONLY | os.O_CREAT, 0o644)
            self._fds[name] = fd
            self._end[name] = self._alloc[name] = os.fstat(fd).st_size
        return fd

    def _drop_fd(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        self._end.pop(name, None)
        self._alloc.pop(name, None)
        if fd is not None:
            os.close(fd)

    def list(self) -> list[str]:
        return sorted(e.name for e in os.scandir(self.path) if e.is_file())

    def read(self, name: str) -> bytes:
        with open(self._p(name), "rb") as f:
            return f.read()

    def size(self, name: str) -> int:
        """Bytes written, not counting space preallocated after them."""
        if name in self._end:
            return self._end[name]
        return os.stat(self._p(name)).st_size

    def exists(self, name: str) -> bool:
        return os.path.exists(self._p(name))

    def append(self, name: str, data: bytes) -> None:
        fd = self._fd(name)
        end = self._end[name]
        need = end + len(data)
        if self.preallocate and need > self._alloc[name]:
            grow = max(self.preallocate, need - self._alloc[name])
            _pwrite_all(fd, bytes(grow), self._alloc[name])
            self._alloc[name] += grow
        _pwrite_all(fd, data, end)
        self._end[name] = need
        self._alloc[name] = max(self._alloc[name], need)

    def fsync(self, name: str) -> None:
        # fdatasync flushes the data and the size (what a reader needs), not timestamps, as
        # ZooKeeper's log does with FileChannel.force(false)
        if self.do_fsync:
            os.fdatasync(self._fd(name))

    def fsync_dir(self) -> None:
        if self.do_fsync:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def truncate(self, name: str, size: int) -> None:
        os.truncate(self._p(name), size)
        if name in self._fds:
            self._end[name] = self._alloc[name] = size

    def remove(self, name: str) -> None:
        self._drop_fd(name)
        os.unlink(self._p(name))

    def write_atomic(self, name: str, data: bytes) -> None:
        self._drop_fd(name)
        tmp = self._p(name + self.TEMP_SUFFIX)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self.do_fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self._p(name))
        self.fsync_dir()

    def describe(self, name: str) -> str:
        return self._p(name)

    def close(self) -> None:
        for name in list(self._fds):
            self._drop_fd(name)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n
