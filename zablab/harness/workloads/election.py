"""kazoo's own `Election` recipe, used as a careful application would: the leader works against
a fenced store with a token from ZooKeeper (its lock node's sequence number) and stops the moment
its connection is SUSPENDED or LOST. The election checker then judges the store's decisions.

Ops per worker: `elect` (blocks in `Election.run` until this worker leads; value: its token),
60 to 240 `write`s to the store while it leads, 50 ms apart, then `resign`. The final op lists
the candidate nodes left, for orphans. The store runs in the harness process (`setup`), and workers in other
processes find it through a znode holding its address.

The seeded client bug `no-fencing` (`--client-bug no-fencing`) is the CURATOR-696 class: the
leader keeps working while cut off and writes without its token, so a paused or partitioned
leader's writes land after its successor's: the checker names the overlapping leaders.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import KazooState

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client, Fail
from zablab.harness.fenced_store import FencedStore, StoreClient
from zablab.harness.workloads.base import ROOT, Workload, ensure
from zablab.history.jsonl import Op

PACE = 0.05  # seconds between a leader's writes


class _Leadership:
    """One worker's run of `Election.run` in a thread of its own."""

    def __init__(self, client: Client, path: str, name: str):
        self.zk = client.zk
        self.election = client.zk.Election(path, name)
        self.leading = threading.Event()
        self.resign_event = threading.Event()
        self.done = threading.Event()
        self.token: int | None = None
        self.node: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"election-{name}")
        self.thread.start()

    def _run(self) -> None:
        try:
            self.election.run(self._lead)
        except Exception:  # a lost session or connection ends the candidacy
            pass
        finally:
            self.leading.clear()
            self.done.set()

    def _lead(self) -> None:
        node = self.election.lock.node
        self.node = node
        self.token = int(node.rsplit("__", 1)[-1]) if node else None
        self.leading.set()
        self.resign_event.wait()

    def stop(self) -> None:
        self.resign_event.set()
        self.election.cancel()


class ElectionWorkload(Workload):
    name = "election"
    checker = "election (no stale token accepted, no overlapping leaders, no orphans)"
    reads = frozenset({"candidates"})
    path = f"{ROOT}/election"
    store_node = f"{ROOT}/election-store"

    def __init__(self, rng: random.Random, **opts: Any):
        super().__init__(rng, **opts)
        self._store: FencedStore | None = None
        self._address: tuple[str, int] | None = None
        self._mine: dict[int, _Leadership] = {}
        self._writes: dict[int, int] = {}
        self._clients: dict[int, StoreClient] = {}
        # candidate nodes a worker's stop could not delete (it was disconnected): its session
        # lives on after it reconnects, so the node would block every other candidate for good
        self._stale: dict[int, str] = {}
        self._mu = threading.Lock()
        self.session_timeout = float(opts.get("session_timeout", 10.0))

    def setup(self, client: Client) -> None:
        if self._store is None:
            self._store = FencedStore().start()
        ensure(client, self.path)
        data = json.dumps(list(self._store.address)).encode()
        try:
            client.wait(client.zk.create_async(self.store_node, data, makepath=True))
        except Exception:
            client.wait(client.zk.set_async(self.store_node, data))

    def _store_client(self, client: Client, process: int) -> StoreClient:
        sc = self._clients.get(process)
        if sc is None:
            if self._address is None:
                data, _ = client.wait(client.zk.get_async(self.store_node))
                host, port = json.loads(data)
                self._address = (str(host), int(port))
            sc = self._clients[process] = StoreClient(self._address, timeout=client.timeout)
        return sc

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        with self._mu:
            lead = self._mine.get(process)
            if lead is None:
                return "elect", None
            left = self._writes.get(process, 0)
            if lead.leading.is_set() and left > 0:
                self._writes[process] = left - 1
                return "write", lead.token
            return "resign", None

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        return self._invoke(client, f, value, fenced=True)

    def invoke_unfenced(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        """The seeded client bug: work on while disconnected, and write without the token."""
        return self._invoke(client, f, value, fenced=False)

    def _invoke(
        self, client: Client, f: str, value: Any, fenced: bool
    ) -> tuple[Any, dict[str, Any]]:
        process = getattr(client, "process", 0)
        if f == "elect":
            self._remove_stale(client, process)
            lead = _Leadership(client, self.path, f"w{process}")
            with self._mu:
                self._mine[process] = lead
                self._writes[process] = self.rng.randint(60, 240)
            if not lead.leading.wait(2 * self.session_timeout):
                self._end(process)
                raise Fail("not-elected")
            return lead.token, {"candidate": lead.node}
        if f == "write":
            state = client.zk.state
            if fenced and state != KazooState.CONNECTED:
                self._end(process)  # the recipe's user stops at once when in doubt
                raise Fail("not-connected")
            meta = {
                "leader": f"w{process}",
                "session": client.session,
                "conn_state": state,
                "term": value,
            }
            token = value if fenced else None
            time.sleep(PACE)  # a leadership lasts seconds, long enough for a fault to hit it
            accepted = self._store_client(client, process).write(f"w{process}", token, **meta)
            extra = {k: v for k, v in meta.items() if k != "session"}  # the worker adds it
            extra["token"] = token
            if not accepted:
                self._end(process)
                raise Fail("stale-token", value)
            return f"w{process}", extra
        if f == "resign":
            self._end(process)
            return None, {}
        if f == "candidates":
            kids = client.wait(client.zk.get_children_async(self.path))
            nodes = []
            for k in kids:
                st = client.wait(client.zk.exists_async(f"{self.path}/{k}"))
                if st is not None:
                    nodes.append({"path": f"{self.path}/{k}", "owner": f"{st.ephemeralOwner:#x}"})
            return nodes, {"live_sessions": [client.session]}
        raise ValueError(f)

    def _end(self, process: int) -> None:
        with self._mu:
            lead = self._mine.pop(process, None)
            self._writes.pop(process, None)
        if lead is not None:
            lead.stop()
            lead.done.wait(5)
            node = lead.election.lock.node  # a contender's too, not only a leader's
            if node is not None:
                with self._mu:
                    self._stale[process] = f"{self.path}/{node}"

    def _remove_stale(self, client: Client, process: int) -> None:
        """Before a new candidacy: delete the node an earlier one of this session left (a
        definite failure, not-connected, if the servers still cannot be reached)."""
        with self._mu:
            node = self._stale.get(process)
        if node is None:
            return
        try:
            client.wait(client.zk.delete_async(node))
        except NoNodeError:
            pass
        except Exception as exc:
            raise Fail("not-connected") from exc
        with self._mu:
            self._stale.pop(process, None)

    def worker_done(self, client: Client, process: int) -> None:
        self._end(process)
        sc = self._clients.pop(process, None)
        if sc is not None:
            sc.close()

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("candidates", None)]

    def final_once(self) -> bool:
        return True

    def settle_seconds(self) -> float:
        return self.session_timeout * 1.5

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.election import check_election

        if self._store is not None:
            self._store.close()
        return check_election(ops, session_timeout=self.session_timeout, liveness=False)
