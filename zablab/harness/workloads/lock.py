"""kazoo's Lock recipe, used to fence writes: a holder writes its token to a resource znode in a
multi that checks its lock node still exists, so the resource's tokens must never go backwards."""

from __future__ import annotations

import contextlib
import random
import threading
from typing import Any

from kazoo.exceptions import NoNodeError

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client, Fail
from zablab.harness.workloads.base import ROOT, Workload, enc, ensure
from zablab.history.jsonl import Op


class LockWorkload(Workload):
    name = "lock"
    checker = "fencing (no stale token accepted; overlapping holds reported)"
    reads = frozenset()
    path = f"{ROOT}/lock"
    resource = f"{ROOT}/fenced"

    def __init__(self, rng: random.Random, **opts: Any):
        super().__init__(rng, **opts)
        self._held: dict[int, Any] = {}  # process -> kazoo Lock
        self._trying: dict[int, tuple[Any, int]] = {}  # process -> (Lock, session) mid-acquire
        self._phase: dict[int, str] = {}
        self._mu = threading.Lock()

    def setup(self, client: Client) -> None:
        ensure(client, self.path)
        ensure(client, self.resource, enc(0))

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        with self._mu:
            phase = self._phase.get(process, "acquire")
            if phase == "write":
                lock = self._held.get(process)
                token = int(lock.node.rsplit("__", 1)[-1]) if lock is not None and lock.node else -1
                return "write", token
            return phase, None

    def _advance(self, process: int, phase: str) -> None:
        with self._mu:
            self._phase[process] = phase

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        zk = client.zk
        process = getattr(client, "process", 0)
        if f == "acquire":
            lock = zk.Lock(self.path, identifier=str(process))
            with self._mu:
                self._trying[process] = (lock, zk.client_id[0] if zk.client_id else 0)
            if not lock.acquire(timeout=client.timeout):
                raise Fail("timeout")
            with self._mu:
                self._held[process] = lock
            self._advance(process, "write")
            return int(lock.node.rsplit("__", 1)[-1]), {}
        if f == "write":
            lock = self._held.get(process)
            self._advance(process, "release")
            if lock is None or not lock.node:
                raise Fail("not-held")
            tx = zk.transaction()
            tx.check(f"{self.path}/{lock.node}", 0)
            tx.set_data(self.resource, enc(value))
            results = client.wait(tx.commit_async())
            if any(isinstance(r, Exception) for r in results):
                raise Fail("fenced")
            return value, {"zxid": results[1].mzxid}
        if f == "release":
            lock = self._held.pop(process, None)
            self._advance(process, "acquire")
            if lock is not None and lock.node:
                # kazoo's own release retries through a cut for as long as it lasts; the op
                # timeout must bound it, or an op that waited out a partition is recorded ok
                with contextlib.suppress(NoNodeError):
                    client.wait(zk.delete_async(f"{self.path}/{lock.node}"))
                lock.is_acquired, lock.node = False, None
            return None, {}
        raise ValueError(f)

    def worker_done(self, client: Client, process: int) -> None:
        with self._mu:
            self._held.pop(process, None)
            self._phase.pop(process, None)
            self._trying.pop(process, None)

    def abandon(self, client: Client, process: int) -> Any:
        """The old session's lock node, named by the Lock's unique prefix (its create may have
        happened without the client learning the name) and its session id."""
        with self._mu:
            trying = self._trying.get(process)
        self.worker_done(client, process)
        if trying is None:
            return None
        lock, session = trying
        return {"prefix": lock.prefix, "session": session}

    def reclaim(self, client: Client, held: Any) -> None:
        zk = client.zk
        for child in client.wait(zk.get_children_async(self.path)):
            if held["prefix"] not in child:
                continue
            path = f"{self.path}/{child}"
            stat = client.wait(zk.exists_async(path))
            if stat is not None and stat.ephemeralOwner == held["session"]:
                with contextlib.suppress(NoNodeError):
                    client.wait(zk.delete_async(path))

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.fencing import check_fencing

        return check_fencing(ops)
