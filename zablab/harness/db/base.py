"""What every DB adapter does, and the shared mechanics for ZooKeeper-compatible servers.

Both systems under test read the same zoo.cfg keys and answer the same four-letter words, so one
base class does config, process control and leader discovery; subclasses name the command line
and the files worth fetching.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import cast

from zablab.apache.config import Member, myid_text, zoo_cfg
from zablab.apache.fourletter import four_letter
from zablab.errors import UserError
from zablab.harness.backends.base import Node
from zablab.harness.control.remote import RemoteError
from zablab.harness.faults.lazyfs import control as lazymount

SpawnHook = Callable[[Node, int], None]


def peer_members(node: Node, nodes: Sequence[Node]) -> list[Member]:
    """The ensemble as `node` should see it: backends may route peers through a proxy."""
    peers = cast(dict[str, tuple[str, int, int]], node.meta.get("peers") or {})
    out = []
    for other in nodes:
        host, q, e = peers.get(other.name, (other.host, *other.peer_ports))
        out.append(Member(other.id, host, q, e))
    return out


class DB:
    """One system under test on a set of nodes. Methods take the node they act on."""

    name = "db"
    log_name = "server.log"
    tick_ms = 500

    def __init__(
        self,
        on_spawn: SpawnHook | None = None,
        env: Callable[[Node], dict[str, str]] | None = None,
        fsync: bool = True,
        args: str = "",
        lazyfs: bool = False,
        on_mount: Callable[[Node, str], None] | None = None,
    ):
        self.fsync = fsync
        # each data directory on a filesystem that keeps unsynced data in memory, so a crash
        # can lose it (the lose-unfsynced nemesis); on_mount records the mount for clean-up
        self.lazyfs = lazyfs
        self.lazyfs_fsync_delay_ms = lazymount.FSYNC_DELAY_MS  # a slower disk widens windows
        self.on_mount = on_mount
        self.args = args  # extra command-line flags for the server (e.g. a seeded bug)
        self.on_spawn = on_spawn
        self.env = env or (lambda n: {})
        self.nodes: list[Node] = []

    # -- subclass hooks ----------------------------------------------------------------------

    def command(self, node: Node) -> str:
        raise NotImplementedError

    def extra_config(self, node: Node) -> dict[str, str]:
        return {}

    def fetch_paths(self, node: Node) -> list[str]:
        """Files and directories on the node worth keeping with the run."""
        return [self.log_path(node)]

    # -- lifecycle ---------------------------------------------------------------------------

    def config_path(self, node: Node) -> str:
        return f"{node.workdir}/zoo.cfg"

    def log_path(self, node: Node) -> str:
        return f"{node.workdir}/{self.log_name}"

    def data_dir(self, node: Node) -> str:
        return f"{node.workdir}/data"

    def setup(self, nodes: Sequence[Node]) -> None:
        """Write each node's zoo.cfg and myid (through the node's Remote, so also over SSH)."""
        self.nodes = list(nodes)
        for node in nodes:
            members = peer_members(node, nodes) if len(nodes) > 1 else []
            cfg = zoo_cfg(
                self.data_dir(node),
                node.client_port,
                client_address=node.host,
                tick_time=self.tick_ms,
                init_limit=10,
                sync_limit=5,
                members=members,
                force_sync=self.fsync,
                extra=self.extra_config(node),
            )
            node.remote.exec(f"mkdir -p {self.data_dir(node)}")
            self._put(node, cfg, self.config_path(node))
            self._put(node, myid_text(node.id), f"{self.data_dir(node)}/myid")
            if self.lazyfs:  # what setup wrote is durable: it moves into the backing directory
                if self.on_mount:
                    self.on_mount(node, self.data_dir(node))
                lazymount.mount(
                    node,
                    self.data_dir(node),
                    on_spawn=self.on_spawn,
                    fsync_delay_ms=self.lazyfs_fsync_delay_ms,
                )

    def _put(self, node: Node, text: str, path: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix="zablab-cfg-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            node.remote.upload(tmp, path)
        finally:
            os.unlink(tmp)

    def start(self, node: Node) -> int:
        if self.running(node):
            return int(cast(int, node.meta["pid"]))
        pid = node.remote.spawn(
            self.command(node), log=self.log_path(node), env=self.env(node), cwd=node.workdir
        )
        node.meta["pid"] = pid
        node.meta.pop("paused", None)
        if self.on_spawn:
            self.on_spawn(node, pid)
        return pid

    def running(self, node: Node) -> bool:
        pid = node.meta.get("pid")
        return isinstance(pid, int) and node.remote.alive(pid)

    def kill(self, node: Node) -> None:
        pid = node.meta.pop("pid", None)
        node.meta.pop("paused", None)
        if isinstance(pid, int):
            node.remote.signal(pid, "CONT")
            node.remote.signal(pid, "KILL")
            wait = getattr(node.remote, "wait", None)
            if wait:
                wait(pid, 5.0)
            else:
                deadline = time.monotonic() + 5
                while node.remote.alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)

    def lose_unfsynced(self, node: Node) -> dict[str, object]:
        """Crash `node` and drop what it wrote but did not fsync; returns what was lost."""
        if not self.lazyfs:
            raise UserError("lose-unfsynced needs the cluster set up with lazyfs=True.")
        self.kill(node)
        return lazymount.drop(node)

    def pause(self, node: Node) -> None:
        pid = node.meta.get("pid")
        if isinstance(pid, int) and node.remote.signal(pid, "STOP"):
            node.meta["paused"] = True

    def resume(self, node: Node) -> None:
        pid = node.meta.get("pid")
        if isinstance(pid, int):
            node.remote.signal(pid, "CONT")
        node.meta.pop("paused", None)

    def teardown(self, node: Node) -> None:
        self.kill(node)
        try:
            if self.lazyfs:
                lazymount.unmount(node)
                node.remote.exec(
                    f"rm -rf {lazymount.backing_dir(self.data_dir(node))}", check=False
                )
            node.remote.exec(f"rm -rf {self.data_dir(node)}", check=False)
        except RemoteError:
            pass

    # -- inspection --------------------------------------------------------------------------

    def mode(self, node: Node, timeout: float = 1.0) -> str | None:
        """The `Mode:` line of `srvr` (leader, follower, standalone), or None if not serving."""
        if node.meta.get("paused"):
            return None
        try:
            text = four_letter(node.host, node.client_port, "srvr", timeout=timeout)
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def primaries(self, nodes: Sequence[Node] | None = None) -> list[str]:
        """Nodes that say they lead; during a partition there may be two (that is the point)."""
        return [n.name for n in (nodes or self.nodes) if self.mode(n) in ("leader", "standalone")]

    def await_ready(self, nodes: Sequence[Node], timeout: float) -> None:
        """Wait until every node serves and one leads; a UserError names the nodes that did not.

        A node that exited will not come back by itself: that fails at once, not at the timeout.
        """
        deadline = time.monotonic() + timeout
        for tries in itertools.count():
            modes = {n.name: self.mode(n) for n in nodes}
            leaders = [k for k, m in modes.items() if m in ("leader", "standalone")]
            if all(modes.values()) and len(leaders) == 1:
                return
            late = time.monotonic() > deadline
            if late or tries % 5 == 4:  # checking processes may cost a remote exec each
                dead = [n.name for n in nodes if not modes[n.name] and not self.running(n)]
                if dead or late:
                    why = f"{', '.join(dead)} exited" if dead else f"modes {modes}"
                    raise UserError(
                        f"{self.name} cluster did not come up ({why}"
                        + ("" if dead else f" after {timeout:g} s")
                        + f"); see the node logs ({self.log_name})."
                    )
            time.sleep(0.2)

    def connection_string(self, nodes: Sequence[Node] | None = None) -> str:
        return ",".join(n.client_address for n in (nodes or self.nodes))
