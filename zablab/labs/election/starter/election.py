"""Leader election with ZooKeeper, and a primary/standby service on top.

Fill in the three classes below (see README.md for the step-by-step). You talk to ZooKeeper
through kazoo (https://kazoo.readthedocs.io): `zk.create`, `zk.get_children`, `zk.exists(path,
watch=fn)`, `zk.delete`, `zk.add_listener(fn)`, `zk.client_id`. Keep the signatures: the tests
call them. You may add helpers, attributes and imports from the standard library and kazoo.
"""

from __future__ import annotations

import threading
from typing import Any

from kazoo.client import KazooClient


class SmallestNodeElection:
    """Scheme 1: every candidate creates an ephemeral sequential node under `path`; the
    candidate with the smallest sequence number leads. Each other candidate watches only the
    node just below its own, so that a leader change wakes one waiter, not all of them.
    Put a GUID in the node's name so that, after a create whose reply was lost, you can tell
    your own node from the others."""

    def __init__(self, zk: KazooClient, path: str, name: str = ""):
        self.zk = zk
        self.path = path
        self.name = name
        self.node: str | None = None  # the full path of our candidate node, once made

    def volunteer(self) -> str:
        """Become a candidate: make sure our node exists (create it, or find the one a lost
        reply created); return its full path. Safe to call again at any time."""
        raise NotImplementedError("SmallestNodeElection.volunteer")

    def wait_for_leadership(self, timeout: float | None = None) -> bool:
        """Block until we lead (True), or until `timeout` seconds pass or our node is gone
        (False). Uses watches, not polling."""
        raise NotImplementedError("SmallestNodeElection.wait_for_leadership")

    def is_leader(self) -> bool:
        """Whether we lead, as far as we know (no ZooKeeper call needed)."""
        raise NotImplementedError("SmallestNodeElection.is_leader")

    def token(self) -> int:
        """The fencing token of our leadership: the czxid of our node."""
        raise NotImplementedError("SmallestNodeElection.token")

    def resign(self) -> None:
        """Stop being a candidate (delete our node); the next candidate leads."""
        raise NotImplementedError("SmallestNodeElection.resign")


class UniqueNodeElection:
    """Scheme 2: every candidate races to create the one ephemeral node `path + "/leader"`;
    whoever creates it leads. The losers watch that node and race again when it goes."""

    def __init__(self, zk: KazooClient, path: str, name: str = ""):
        self.zk = zk
        self.path = path
        self.name = name
        self.node: str | None = None  # path + "/leader" while we hold it

    def volunteer(self) -> str:
        """Become a candidate (make sure `path` exists); return the leader node's path."""
        raise NotImplementedError("UniqueNodeElection.volunteer")

    def wait_for_leadership(self, timeout: float | None = None) -> bool:
        """Race for the leader node; if another holds it, watch it and race again when it
        goes. True once we lead, False after `timeout` seconds."""
        raise NotImplementedError("UniqueNodeElection.wait_for_leadership")

    def is_leader(self) -> bool:
        """Whether we hold the leader node, as far as we know."""
        raise NotImplementedError("UniqueNodeElection.is_leader")

    def token(self) -> int:
        """The fencing token of our leadership: the czxid of the leader node we created."""
        raise NotImplementedError("UniqueNodeElection.token")

    def resign(self) -> None:
        """Give up the leadership (delete the leader node if it is ours)."""
        raise NotImplementedError("UniqueNodeElection.resign")


class Failover:
    """A primary/standby service. Every candidate runs `run(stop)`; the elected primary calls
    `store.write(data, token)` about every `interval` seconds with its fencing token, the
    others stand by. On SUSPENDED or LOST (a `zk.add_listener` callback) the primary stops
    writing at once; it resumes only once it knows it still leads (after LOST: never with the
    old token)."""

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
        self.path = path
        self.store = store  # store.write(data: str, token: int | None) -> bool (False: refused)
        self.scheme = scheme  # "smallest" (SmallestNodeElection) or "unique"
        self.name = name
        self.interval = interval

    def run(self, stop: threading.Event) -> None:
        """Campaign, lead, stand by, until `stop` is set."""
        raise NotImplementedError("Failover.run")
