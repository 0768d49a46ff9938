"""Driving the lazy filesystem from the harness: mount it under a node's data directory, drop
what the node had not fsynced, unmount; and find every such mount on the machine (leak checks).

Everything on the node goes through its Remote, so the same code works for the local backend
and over SSH into a network namespace. On the node, `python -m
zablab.harness.faults.lazyfs.control SOCKET CMD` is the client of the daemon's control socket.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from zablab.errors import UserError
from zablab.harness.backends.base import Node

FSTYPE = "fuse.zablab-lazyfs"  # keep in step with fs.FSTYPE (that module needs pyfuse3)

#: data unsynced this long is written back, as Linux's flusher does (ext4 commits every 5 s):
#: a crash loses the recent unsynced writes, not everything a node never fsynced since it
#: started (Apache ZooKeeper does not fsync its periodic snapshots; lost whole, it cannot start)
WRITEBACK_S = 5.0
#: what an fsync costs on the mount: a real disk's latency (milliseconds), so the window between
#: a write and its durability is as wide as on a disk and not as on the RAM under /tmp
FSYNC_DELAY_MS = 10.0


# -- on the node: the control client -------------------------------------------------------------


def request(sock_path: str, cmd: str, timeout: float = 10.0) -> dict[str, Any]:
    """Send one command to the daemon, return its JSON reply."""
    here = os.getcwd()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        os.chdir(os.path.dirname(sock_path) or ".")  # relative: no 108-byte path limit
        try:
            s.connect(os.path.basename(sock_path))
        finally:
            os.chdir(here)
        s.sendall(cmd.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return dict(json.loads(data.decode()))


def _client(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zablab.harness.faults.lazyfs.control")
    ap.add_argument("socket")
    ap.add_argument("command", choices=("ping", "stats", "drop", "sync", "stop"))
    ap.add_argument("--wait", type=float, default=0.0, help="retry this long for the daemon")
    a = ap.parse_args(argv)
    deadline = time.monotonic() + a.wait
    while True:
        try:
            print(json.dumps(request(a.socket, a.command)))
            return 0
        except (OSError, ValueError) as exc:
            if time.monotonic() >= deadline:
                print(f"zablab: error: lazyfs at {a.socket}: {exc}", file=sys.stderr)
                return 1
            time.sleep(0.05)


# -- from the harness ----------------------------------------------------------------------------


def check_host() -> None:
    """One clear line if this machine cannot mount the filesystem."""
    if os.geteuid() != 0:
        raise UserError(
            "the lose-unfsynced nemesis mounts a FUSE filesystem and needs root; run as root."
        )
    if not os.path.exists("/dev/fuse"):
        raise UserError("the lose-unfsynced nemesis needs /dev/fuse; install Debian's fuse3.")
    try:
        import pyfuse3  # noqa: F401
    except ImportError:
        raise UserError(
            "the lose-unfsynced nemesis needs pyfuse3; apt-get install fuse3 libfuse3-dev "
            "pkg-config gcc, then pip install -e . again."
        ) from None


def backing_dir(data_dir: str) -> str:
    return data_dir.rstrip("/") + ".durable"


def _sock(node: Node) -> str:
    return f"{node.workdir}/lazyfs.sock"


def _python(node: Node) -> str:
    return str(node.meta.get("python") or sys.executable)


def _ctl(node: Node, cmd: str, wait: float = 0.0, check: bool = True) -> dict[str, Any]:
    q = shlex.quote
    res = node.remote.exec(
        f"{q(_python(node))} -m zablab.harness.faults.lazyfs.control {q(_sock(node))} {cmd}"
        + (f" --wait {wait:g}" if wait else ""),
        check=check,
        timeout=wait + 30,
    )
    if res.rc != 0:
        return {"error": (res.err.strip().splitlines() or ["no reply"])[-1]}
    return dict(json.loads(res.out.strip().splitlines()[-1]))


def mount(
    node: Node,
    data_dir: str,
    on_spawn: Callable[[Node, int], None] | None = None,
    fsync_delay_ms: float = FSYNC_DELAY_MS,
    writeback_s: float = WRITEBACK_S,
) -> int:
    """Move what setup wrote into the backing directory and mount the filesystem over
    `data_dir`; returns the daemon's pid once it answers."""
    q = shlex.quote
    back = backing_dir(data_dir)
    node.remote.exec(
        f"rm -rf {q(back)} && mkdir -p {q(data_dir)} && mv {q(data_dir)} {q(back)}"
        f" && mkdir {q(data_dir)}"
    )
    cmd = (
        f"{q(_python(node))} -m zablab.harness.faults.lazyfs.fs {q(back)} {q(data_dir)}"
        f" --control {q(_sock(node))}"
        + (f" --fsync-delay-ms {fsync_delay_ms:g}" if fsync_delay_ms else "")
        + (f" --writeback-s {writeback_s:g}" if writeback_s else "")
    )
    pid = node.remote.spawn(cmd, log=f"{node.workdir}/lazyfs.log", cwd=node.workdir)
    node.meta["lazyfs_pid"] = pid
    node.meta["lazyfs_mount"] = data_dir
    if on_spawn:
        on_spawn(node, pid)
    reply = _ctl(node, "ping", wait=15.0, check=False)
    if "error" in reply:
        unmount(node)
        raise UserError(
            f"{node.name}: the lazy filesystem did not come up ({reply['error']}); "
            f"see {node.workdir}/lazyfs.log."
        )
    return pid


def drop(node: Node) -> dict[str, Any]:
    """Forget what `node` wrote and did not fsync (call it once the node is dead)."""
    return _ctl(node, "drop")


def stats(node: Node) -> dict[str, Any]:
    return _ctl(node, "stats")


def sync(node: Node) -> dict[str, Any]:
    """Write back everything unsynced now, as sync(1) would."""
    return _ctl(node, "sync")


def unmount(node: Node) -> None:
    """Stop the daemon (it unmounts); if it is gone or stuck, detach the mount anyway."""
    mnt = node.meta.pop("lazyfs_mount", None)
    pid = node.meta.pop("lazyfs_pid", None)
    if not isinstance(mnt, str):
        return
    with contextlib.suppress(Exception):
        _ctl(node, "stop", check=False)
    if isinstance(pid, int):
        wait = getattr(node.remote, "wait", None)
        if wait is not None:
            if not wait(pid, 5.0):
                node.remote.signal(pid, "KILL")
        else:
            deadline = time.monotonic() + 5
            while node.remote.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            node.remote.signal(pid, "KILL")
    q = shlex.quote(mnt)
    node.remote.exec(
        f"if grep -qs ' '{q}' ' /proc/self/mountinfo; then fusermount3 -uz {q} || umount -l {q}; fi",
        check=False,
    )


def detach(path: str) -> None:
    """Detach a mount on this machine left by a run that died (its daemon may be dead too)."""
    if any(m == path for _, m in mounts()):
        q = shlex.quote(path)
        subprocess.run(f"fusermount3 -uz {q} 2>/dev/null || umount -l {q}", shell=True, check=False)


def mounts() -> set[tuple[str, str]]:
    """Every lazy filesystem mounted on this machine, in any mount namespace:
    (namespace, mountpoint)."""
    found: set[tuple[str, str]] = set()
    for info in glob.glob("/proc/[0-9]*/mountinfo"):
        pid_dir = os.path.dirname(info)
        try:
            ns = os.readlink(f"{pid_dir}/ns/mnt")
            with open(info) as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        for line in lines:
            pre, sep, post = line.partition(" - ")
            if sep and post.split(" ", 1)[0] == FSTYPE:
                found.add((ns, pre.split(" ")[4]))
    return found


if __name__ == "__main__":
    sys.exit(_client())
