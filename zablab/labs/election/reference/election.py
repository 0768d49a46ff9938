"""Leader election with ZooKeeper, and a primary/standby service on top (reference solution).

Two schemes for a compute cluster, where any live member may lead:
- `SmallestNodeElection`: every candidate creates an ephemeral sequential node; the smallest
  leads; each other candidate watches only the node just below its own, so a leader change
  wakes exactly one waiter.
- `UniqueNodeElection`: every candidate races to create one ephemeral node; the winner leads;
  the losers watch it and race again when it goes (all of them wake: the herd).
`Failover` runs a primary that works against a fenced store with a token from ZooKeeper and
stops the moment its session is in doubt.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NodeExistsError, NoNodeError
from kazoo.protocol.states import KazooState

SEQ_DIGITS = 10  # ZooKeeper's sequential suffix: %010d


def _seq(name: str) -> int:
    return int(name[-SEQ_DIGITS:])


class _Election:
    """What both schemes share: waiting for a watch to fire, the token, resigning."""

    def __init__(self, zk: KazooClient, path: str, name: str = ""):
        self.zk = zk
        self.path = path.rstrip("/")
        self.name = name
        self.node: str | None = None  # our znode while we are a candidate (or the leader)
        self._leading = False
        self._token: tuple[str, int] | None = None
        self._wake = threading.Event()

    def _wake_up(self, event: Any) -> None:  # a watch: runs on kazoo's thread, must not block
        self._wake.set()

    def volunteer(self) -> str:
        raise NotImplementedError

    def _check(self) -> bool | None:
        """True: we lead. False: we wait for a watch. None: our candidacy is gone."""
        raise NotImplementedError

    def wait_for_leadership(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._wake.clear()
            verdict = self._check()
            if verdict:
                self._leading = True
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if verdict is None or (left is not None and left <= 0):
                return False  # gone (the session ended: volunteer again), or out of time
            self._wake.wait(left)

    def is_leader(self) -> bool:
        return self._leading and self.node is not None

    def token(self) -> int:
        """The czxid of our node: later leaderships create later nodes, so larger tokens."""
        assert self.node is not None, "not a candidate"
        if self._token is None or self._token[0] != self.node:
            stat = self.zk.exists(self.node)
            if stat is None:
                raise NoNodeError(self.node)
            self._token = (self.node, stat.czxid)
        return self._token[1]

    def resign(self) -> None:
        node, self.node, self._leading = self.node, None, False
        if node is not None:
            try:
                self.zk.delete(node)
            except NoNodeError:
                pass


class SmallestNodeElection(_Election):
    """Scheme 1: the smallest ephemeral sequential node leads."""

    def __init__(self, zk: KazooClient, path: str, name: str = ""):
        super().__init__(zk, path, name)
        self.guid = uuid.uuid4().hex

    def volunteer(self) -> str:
        if self.node is not None and self.zk.exists(self.node) is not None:
            return self.node
        self._leading = False
        self.zk.ensure_path(self.path)
        # a create whose reply was lost may have made our node already: the GUID finds it
        self.node = self._find_own()
        if self.node is None:
            prefix = f"{self.path}/{self.guid}-n_"
            self.node = self.zk.create(prefix, self.name.encode(), ephemeral=True, sequence=True)
        return self.node

    def _find_own(self) -> str | None:
        for child in self.zk.get_children(self.path):
            if child.startswith(self.guid):
                return f"{self.path}/{child}"
        return None

    def _check(self) -> bool | None:
        """Lead if our node is the smallest; else watch the next smaller one, and only it."""
        if self.node is None:
            return None
        while True:
            children = sorted(self.zk.get_children(self.path), key=_seq)
            own = self.node.rsplit("/", 1)[1]
            if own not in children:
                self.node, self._leading = None, False
                return None
            i = children.index(own)
            if i == 0:
                return True
            predecessor = children[i - 1]
            if self.zk.exists(f"{self.path}/{predecessor}", watch=self._wake_up) is not None:
                return False
            # it went between the listing and the watch: look again


class UniqueNodeElection(_Election):
    """Scheme 2: whoever creates the one ephemeral `leader` node leads."""

    def __init__(self, zk: KazooClient, path: str, name: str = ""):
        super().__init__(zk, path, name)
        self.leader_path = f"{self.path}/leader"

    def volunteer(self) -> str:
        self.zk.ensure_path(self.path)
        return self.leader_path

    def _check(self) -> bool | None:
        """Race to create the leader node; if another has it, watch it and race when it goes."""
        while True:
            try:
                self.zk.create(self.leader_path, self.name.encode(), ephemeral=True)
                self.node = self.leader_path
                return True
            except NodeExistsError:
                pass
            stat = self.zk.exists(self.leader_path, watch=self._wake_up)
            if stat is None:
                continue  # it went before our watch was set: race again
            if stat.ephemeralOwner == self.zk.client_id[0]:
                self.node = self.leader_path  # ours: a create whose reply was lost
                return True
            self.node = None
            return False


class Failover:
    """A primary/standby service: the elected primary writes to `store` with its token; the
    others stand by. SUSPENDED means we may have lost the leadership, LOST that we have: the
    primary stops working on either, at once, and only resumes once it knows it leads."""

    def __init__(
        self,
        zk: KazooClient,
        path: str,
        store: Any,
        scheme: str = "smallest",
        name: str = "",
        interval: float = 0.05,
    ):
        self.zk = zk
        self.store = store
        self.name = name
        self.interval = interval
        self.writes = 0
        cls = SmallestNodeElection if scheme == "smallest" else UniqueNodeElection
        self.election: _Election = cls(zk, path, name)
        self._connected = threading.Event()
        self._lost = threading.Event()
        if zk.connected:
            self._connected.set()
        zk.add_listener(self._on_state)

    def _on_state(self, state: str) -> None:  # runs on kazoo's thread: no blocking calls here
        if state == KazooState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
            if state == KazooState.LOST:
                self._lost.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self._lost.is_set():
                    self._lost.clear()
                    self.election.resign()  # the session and its node are gone
                if not self._connected.wait(0.1):
                    continue
                self.election.volunteer()
                if self.election.wait_for_leadership(timeout=0.5):
                    self._serve(self.election.token(), stop)
            except KazooException:
                stop.wait(0.05)  # connection trouble: the state listener says what it means

    def _serve(self, token: int, stop: threading.Event) -> None:
        while (
            not stop.is_set()
            and self._connected.is_set()
            and not self._lost.is_set()
            and self.election.is_leader()
        ):
            self.store.write(f"{self.name}:{self.writes}", token)
            self.writes += 1
            stop.wait(self.interval)
