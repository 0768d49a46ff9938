"""The Workload interface the runner drives."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

from kazoo.exceptions import NodeExistsError

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client
from zablab.history.jsonl import Op

ROOT = "/zablab"


def enc(v: Any) -> bytes:
    return b"" if v is None else json.dumps(v).encode()


def dec(b: bytes | None) -> Any:
    return None if not b else json.loads(b)


def ensure(client: Client, path: str, data: bytes = b"") -> None:
    try:
        client.wait(client.zk.create_async(path, data, makepath=True))
    except NodeExistsError:
        pass


class Workload:
    """Ops are (f, value) pairs; `invoke` returns (value, extra) or raises (see client.classify)."""

    name = "workload"
    checker = ""  # shown in the report: which checker judges this workload
    reads: frozenset[str] = frozenset({"read"})

    def __init__(self, rng: random.Random, **opts: Any):
        self.rng = rng
        self.opts = opts
        self._unique = itertools.count()

    def unique(self) -> int:
        """A value no other worker uses (set elements, queue items)."""
        return next(self._unique)

    def share(self, slot: int, slots: int) -> None:
        """This copy runs in worker process `slot` of `slots`: keep its unique values apart."""
        self._unique = itertools.count(slot, slots)

    def setup(self, client: Client) -> None:
        """Create the znodes the ops need; idempotent (runs once, before the workers)."""

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        raise NotImplementedError

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def final_ops(self) -> list[tuple[str, Any]]:
        """Ops each node runs on a fresh session after everything healed."""
        return []

    def final_once(self) -> bool:
        """True when the final ops must run on one node only (they change state, e.g. drain)."""
        return False

    def settle_seconds(self) -> float:
        """Extra wait after healing before the final ops (e.g. for sessions to expire)."""
        return 0.0

    def check(self, ops: list[Op]) -> Result:
        raise NotImplementedError

    def worker_done(self, client: Client, process: int) -> None:
        """Called when a worker stops or loses its session (release what it holds)."""

    def abandon(self, client: Client, process: int) -> Any:
        """The worker drops this session after an op of unknown outcome: return what the
        session may still hold on the servers (a lock node, a queue item, a candidacy), for
        `reclaim`, or None. The default holds nothing."""
        self.worker_done(client, process)
        return None

    def reclaim(self, client: Client, held: Any) -> None:
        """On the worker's fresh session: remove what `abandon` said the old one held, so a
        session that outlives its worker cannot wedge the others (Jepsen reopens its client
        for the same reason). Raises if the servers cannot be reached; the worker retries."""
