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


class OsDisk:
    """A real directory. ``fsync=False`` skips every fsync (benchmarks only: loses data on crash)."""

    TEMP_SUFFIX = ".tmp"

    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(directory)
        self.path.mkdir(parents=True, exist_ok=True)
        self.do_fsync = fsync
        self._fds: dict[str, int] = {}

    def _p(self, name: str) -> str:
        return os.path.join(self.path, name)

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            fd = os.open(self._p(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._fds[name] = fd
        return fd

    def _drop_fd(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            os.close(fd)

    def list(self) -> list[str]:
        return sorted(e.name for e in os.scandir(self.path) if e.is_file())

    def read(self, name: str) -> bytes:
        with open(self._p(name), "rb") as f:
            return f.read()

    def size(self, name: str) -> int:
        return os.stat(self._p(name)).st_size

    def exists(self, name: str) -> bool:
        return os.path.exists(self._p(name))

    def append(self, name: str, data: bytes) -> None:
        fd = self._fd(name)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

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
