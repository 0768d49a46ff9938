"""State files naming what a run created, so a crashed run can be cleaned up by the next one.

Each live run (or `zablab cluster up`) keeps one JSON file in the runtime dir listing its node
processes (pid + start time, so a recycled pid is never killed), temp dirs and the backend that
owns them. Runs delete their file when they tear down cleanly; whatever file remains belongs to a
run that crashed or was killed, and `cleanup()` undoes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil


def runtime_dir() -> Path:
    base = os.environ.get("ZABLAB_RUNTIME_DIR") or os.path.join(
        tempfile.gettempdir(), f"zablab-{os.getuid()}", "run"
    )
    p = Path(base)
    p.mkdir(parents=True, exist_ok=True)
    return p


@dataclass
class RunState:
    """What one run owns; saved after every change so a crash at any point leaves a true record."""

    kind: str  # "test" or "cluster"
    backend: str
    owner_pid: int = field(default_factory=os.getpid)
    owner_start: float = field(default_factory=lambda: psutil.Process().create_time())
    procs: list[dict[str, Any]] = field(default_factory=list)  # {node, pid, start}
    dirs: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)  # FUSE mounts on this machine
    info: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @classmethod
    def create(cls, kind: str, backend: str) -> RunState:
        st = cls(kind, backend)
        fd, path = tempfile.mkstemp(prefix=f"{kind}-", suffix=".json", dir=runtime_dir())
        os.close(fd)
        st.path = path
        st.save()
        return st

    def save(self) -> None:
        tmp = self.path + ".tmp"
        # owner-only: a cluster's file holds its ensemble secret
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            json.dump(asdict(self), fh)
        os.replace(tmp, self.path)

    def add_proc(self, node: str, pid: int) -> None:
        try:
            start = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            return
        self.procs = [p for p in self.procs if p["node"] != node or _alive(p)]
        self.procs.append({"node": node, "pid": pid, "start": start})
        self.save()

    def add_dir(self, d: str) -> None:
        self.dirs.append(d)
        self.save()

    def add_mount(self, path: str) -> None:
        self.mounts.append(path)
        self.save()

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def owner_alive(self) -> bool:
        return _alive({"pid": self.owner_pid, "start": self.owner_start})


def _alive(p: dict[str, Any]) -> bool:
    try:
        proc = psutil.Process(int(p["pid"]))
        return abs(proc.create_time() - float(p["start"])) < 0.5 and (
            proc.status() != psutil.STATUS_ZOMBIE
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, ValueError):
        return False


def load_all() -> list[RunState]:
    out = []
    for f in sorted(runtime_dir().glob("*.json")):
        try:
            d = json.loads(f.read_text())
            st = RunState(**{k: v for k, v in d.items() if k != "path"})
            st.path = str(f)
            out.append(st)
        except (OSError, ValueError, TypeError):
            with contextlib.suppress(OSError):
                f.unlink()
    return out


def kill_procs(st: RunState) -> int:
    """SIGKILL every recorded node process still alive (a paused one too); returns how many."""
    n = 0
    for p in st.procs:
        if _alive(p):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(p["pid"]), signal.SIGCONT)
                os.kill(int(p["pid"]), signal.SIGKILL)
                n += 1
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in st.procs):
        time.sleep(0.05)
    return n


def detach_mounts(st: RunState) -> None:
    """Lazily unmount what the run mounted: once its daemon is killed a FUSE mount stays, dead
    ("transport endpoint is not connected"), and blocks removing the directory under it."""
    try:
        with open("/proc/self/mountinfo") as fh:
            mounted = {line.split(" ")[4] for line in fh if line.count(" ") > 4}
    except OSError:
        return
    for path in st.mounts:
        if os.path.realpath(path) in mounted or path in mounted:
            with contextlib.suppress(OSError):
                subprocess.run(
                    ["sh", "-c", 'fusermount3 -uz "$1" 2>/dev/null || umount -l "$1"', "-", path],
                    capture_output=True,
                    timeout=30,
                )


def cleanup(
    kinds: tuple[str, ...] = ("test",),
    include_live: bool = False,
    undo: Callable[[RunState], None] | None = None,
) -> list[str]:
    """Undo runs whose owner died (or all of the given kinds with include_live); returns notes.

    `undo` removes what a backend keeps beyond processes and dirs (rules, containers): the
    backends pass it in, so this module needs none of them.
    """
    notes = []
    for st in load_all():
        if st.kind not in kinds:
            continue
        if st.owner_alive() and not include_live and st.owner_pid != os.getpid():
            continue
        n = kill_procs(st)
        detach_mounts(st)
        for d in st.dirs:
            shutil.rmtree(d, ignore_errors=True)
        if undo is not None:
            with contextlib.suppress(Exception):
                undo(st)
        st.remove()
        notes.append(
            f"cleaned {st.kind} run {Path(st.path).name}: {n} processes, {len(st.dirs)} dirs"
        )
    return notes
