"""What one client worker does: bind to a node, run ops through kazoo, record each outcome.

The same loop runs as a thread of the harness or inside a client worker process
(`zablab.harness.clients.procs`); only the `record` function differs. Process numbers follow
Jepsen: a worker whose op may or may not have happened (`info`) opens a fresh session as
process + concurrency, so each process has at most one op in flight and numbers never clash
across workers or worker processes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zablab.bugs import ClientBugs
from zablab.harness.clients.client import Client, classify
from zablab.harness.generator import Schedule
from zablab.harness.workloads import get_workload
from zablab.harness.workloads.base import Workload

Record = Callable[..., Any]  # record(type, process, f, value, **extra)


@dataclass
class WorkerConfig:
    """Everything a worker needs, as plain data so a worker process can receive it as JSON."""

    nodes: list[tuple[str, str]]  # (node name, client address)
    workload: str
    seed: int
    concurrency: int
    op_timeout: float = 3.0
    session_timeout: float = 10.0
    client_bug: str = "none"
    workload_opts: dict[str, Any] = field(default_factory=dict)

    def make_workload(self) -> Workload:
        return get_workload(self.workload, random.Random(self.seed + 1), **self.workload_opts)


class BrokenClient:
    """Seeded bugs at the client: acks some writes without sending them, or serves stale reads."""

    def __init__(self, workload: Workload, bugs: ClientBugs, rng: random.Random):
        self.w = workload
        self.bugs = bugs
        self.rng = rng
        self.last: dict[str, Any] = {}

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        if self.bugs.no_fencing and hasattr(self.w, "invoke_unfenced"):  # election
            return self.w.invoke_unfenced(client, f, value)  # type: ignore[no-any-return]
        if self.bugs.lost_write and f in ("write", "add", "enqueue") and self.rng.random() < 0.3:
            return value, {}
        if (
            self.bugs.stale_read
            and f in ("read", "sync-read")
            and f in self.last
            and self.rng.random() < 0.5
        ):
            return self.last[f]
        out = self.w.invoke(client, f, value)
        if f in ("read", "sync-read"):
            self.last.setdefault(f, out)
        return out


def open_client(
    node: str, address: str, op_timeout: float, session_timeout: float, deadline: float
) -> Client | None:
    """A session on `node`, retried until `deadline` (the node may be down or cut off)."""
    while time.monotonic() < deadline:
        try:
            return Client(node, address, op_timeout, session_timeout).open(
                timeout=min(5.0, max(0.5, deadline - time.monotonic()))
            )
        except Exception:
            time.sleep(0.3)
    return None


def run_op(
    client: Client,
    invoker: Any,
    reads: frozenset[str],
    process: int,
    f: str,
    value: Any,
    record: Record,
    **extra: Any,
) -> str:
    """Invoke one op and record its invocation and outcome; returns the outcome's type."""
    record("invoke", process, f, value, node=client.node, **extra)
    try:
        out, more = invoker.invoke(client, f, value)
    except Exception as exc:
        typ, err = classify(exc, f in reads)
        more = {**getattr(exc, "zablab_extra", {}), **extra}
        record(typ, process, f, value, node=client.node, session=client.session, error=err, **more)
        return typ
    record("ok", process, f, out, node=client.node, session=client.session, **{**more, **extra})
    return "ok"


def run_worker(
    cfg: WorkerConfig, workload: Workload, index: int, schedule: Schedule, record: Record
) -> None:
    """Worker `index`: ops on its node until the schedule ends."""
    node, address = cfg.nodes[index % len(cfg.nodes)]
    rng = random.Random(cfg.seed * 1000 + index)
    invoker: Any = workload
    if cfg.client_bug != "none":
        bugs = ClientBugs.of([cfg.client_bug])
        invoker = BrokenClient(workload, bugs, random.Random(cfg.seed + index))
    process = index
    client: Client | None = None
    held: list[Any] = []  # what abandoned sessions of this worker may still hold
    while schedule.running():
        if client is None:
            client = open_client(
                node,
                address,
                cfg.op_timeout,
                cfg.session_timeout,
                min(schedule.deadline, time.monotonic() + 5),
            )
            if client is None:
                continue
            client.process = process  # type: ignore[attr-defined]
        if held and not reclaim(workload, client, held):
            continue  # the servers are unreachable: nothing to do until they answer
        f, value = workload.next_op(rng, process)
        if not schedule.wait_turn():
            break
        if run_op(client, invoker, workload.reads, process, f, value, record) == "info":
            held += drop_session(workload, client, process, cfg.session_timeout)
            client = None
            process += cfg.concurrency
    if client is not None:
        workload.worker_done(client, process)
        client.close()


def drop_session(workload: Workload, client: Client, process: int, linger: float) -> list[Any]:
    """After an op of unknown outcome: give the session up, as Jepsen reopens its client.

    The close lingers until the client reconnects, so the server hears it and the session's
    ephemerals go; what it may hold meanwhile is returned for `reclaim` on the next session.
    """
    held = workload.abandon(client, process)
    client.close(linger=linger)
    return [] if held is None else [held]


def reclaim(workload: Workload, client: Client, held: list[Any]) -> bool:
    """Remove what abandoned sessions held, on the fresh `client`; False if it could not."""
    while held:
        try:
            workload.reclaim(client, held[0])
        except Exception:
            time.sleep(0.2)
            return False
        held.pop(0)
    return True
