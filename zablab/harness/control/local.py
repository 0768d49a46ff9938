"""LocalRemote: the Remote interface for processes on this machine (the `local` backend)."""

from __future__ import annotations

import os
import shutil
import signal as _signal
import subprocess
from pathlib import Path

import psutil

from zablab.harness.control.remote import ExecResult, RemoteError


class LocalRemote:
    """Runs commands with `sh -c` here; daemons are session leaders so a signal reaches only them."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def exec(
        self,
        cmd: str,
        *,
        check: bool = True,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> ExecResult:
        full_env = {**os.environ, **(env or {})}
        try:
            p = subprocess.run(
                ["sh", "-c", cmd], capture_output=True, text=True, timeout=timeout, env=full_env
            )
        except subprocess.TimeoutExpired:
            raise RemoteError(f"{self.host}: `{cmd}` timed out after {timeout:g} s") from None
        res = ExecResult(p.returncode, p.stdout, p.stderr)
        if check and p.returncode != 0:
            last = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            raise RemoteError(f"{self.host}: `{cmd}` exited {p.returncode}: {last}")
        return res

    def upload(self, local: str, remote: str) -> None:
        _copy(local, remote)

    def download(self, remote: str, local: str) -> None:
        _copy(remote, local)

    def spawn(
        self, cmd: str, *, log: str, env: dict[str, str] | None = None, cwd: str | None = None
    ) -> int:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            p = subprocess.Popen(
                ["sh", "-c", f"exec {cmd}"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self._children[p.pid] = p
        return p.pid

    def signal(self, pid: int, sig: str) -> bool:
        signum = getattr(_signal, "SIG" + sig.upper().removeprefix("SIG"))
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return False
        self._reap(pid)
        return True

    def wait(self, pid: int, timeout: float) -> bool:
        """Wait for a daemon to exit; True if it did."""
        p = self._children.get(pid)
        if p is None:
            try:
                psutil.Process(pid).wait(timeout)
            except psutil.NoSuchProcess:
                return True
            except psutil.TimeoutExpired:
                return False
            return True
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        self._children.pop(pid, None)
        return True

    def alive(self, pid: int) -> bool:
        p = self._children.get(pid)
        if p is not None:
            if p.poll() is None:
                return True
            self._children.pop(pid, None)
            return False
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def _reap(self, pid: int) -> None:
        p = self._children.get(pid)
        if p is not None and p.poll() is not None:
            self._children.pop(pid, None)

    def close(self) -> None:
        for pid in list(self._children):
            self._reap(pid)


def _copy(src: str, dst: str) -> None:
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    if os.path.isdir(src):
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst)
