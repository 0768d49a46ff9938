"""The Remote interface: everything the harness does on a node goes through it.

Every backend but `local` is driven over SSH (zablab.harness.control.ssh), like Jepsen, so a test
that passes on namespaces means the same on containers and VMs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class ExecResult:
    rc: int
    out: str
    err: str


class Remote(Protocol):
    """One node's control channel. Paths are on the node; commands run under `sh -c`."""

    host: str

    def exec(
        self,
        cmd: str,
        *,
        check: bool = True,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run a command; with check, a non-zero exit raises RemoteError with its stderr."""
        ...

    def upload(self, local: str, remote: str) -> None: ...

    def download(self, remote: str, local: str) -> None:
        """Copy a file or a directory tree from the node."""
        ...

    def spawn(
        self, cmd: str, *, log: str, env: dict[str, str] | None = None, cwd: str | None = None
    ) -> int:
        """Start a daemon detached from the session (setsid, stdio to `log`); returns its pid."""
        ...

    def signal(self, pid: int, sig: str) -> bool:
        """Send a signal by name (KILL, STOP, CONT, TERM); False if no such process."""
        ...

    def alive(self, pid: int) -> bool: ...

    def close(self) -> None: ...


class RemoteError(Exception):
    """A remote command failed; the message names host, command and stderr's last line."""
