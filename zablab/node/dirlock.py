"""One node per data directory: an exclusive flock on `dataDir/zablab.lock`, held for the life
of the process (the kernel drops it when the process dies, so a crash leaves no stale lock).

Two nodes on one directory would interleave their logs and snapshots and lose data without a
word; the second one must refuse to start and say who holds the directory.
"""

from __future__ import annotations

import fcntl
import os

from zablab.errors import UserError

LOCK_NAME = "zablab.lock"

_held: list[int] = []  # fds kept open (and so locked) until the process exits


def lock_data_dir(data_dir: str) -> None:
    """Lock `data_dir` for this process; UserError naming the holder if another has it."""
    path = os.path.join(data_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise UserError(
            f"data directory {data_dir} is in use by another zablab node (pid {holder}); "
            "stop that node or pass another --data-dir."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held.append(fd)
