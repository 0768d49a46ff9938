"""Simulated ZooKeeper clients: one session each, running a workload's ops and recording them.

A client behaves as the harness's kazoo workers do: it connects to a server, resumes its
session on another one when the connection drops, pings to keep the session alive, and turns
a lost connection or a timeout during an op into "info" (the op may or may not have happened;
"fail" for ops that change nothing). After an "info" it continues as a new process on a new
session, as a Jepsen client is reopened, so a process never has two ops in flight. Everything
it does goes through its host (the simulator): connections, bytes, timers and the history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .draw import randint
from .wire import Reply, Session, WireConn
from .workloads import OpRun, SimWorkload


class Host(Protocol):
    """What a client needs of the simulator."""

    now: int
    active: bool  # the workload phase: clients start new ops only while it lasts
    rng: random.Random  # the run's one source of choices

    def connect(self, client: SimClient, node: int) -> int: ...

    def send(self, cid: int, data: bytes) -> None: ...

    def hang_up(self, cid: int) -> None: ...

    def call_later(self, ms: int, fn: Callable[..., None], *args: Any) -> None: ...

    def record(
        self, type_: str, process: int, f: str, value: Any, extra: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class ClientConfig:
    op_gap_ms: int = 20  # mean think time between ops
    op_timeout_ms: int = 1000
    connect_timeout_ms: int = 500
    session_timeout_ms: int = 1500
    process_stride: int = 1  # a new process id after an "info": this many ids further on


@dataclass
class _Running:
    seq: int
    f: str
    value: Any
    gen: OpRun
    waiting: dict[int, int]  # xid -> position in this round's replies
    replies: list[Reply | None]
    watching: bool = False


class SimClient:
    def __init__(
        self,
        host: Host,
        process: int,
        workload: SimWorkload,
        nodes: list[int],
        cfg: ClientConfig,
        *,
        plan: list[tuple[str, Any]] | None = None,
        record: bool = True,
        extra: dict[str, Any] | None = None,
        on_done: Callable[[SimClient], None] | None = None,
    ) -> None:
        self.host = host
        self.process = process
        self.workload = workload
        self.nodes = nodes
        self.cfg = cfg
        self.plan = plan  # fixed ops (setup, final reads), each retried until it is ok
        self.recording = record
        self.extra = extra or {}
        self.on_done = on_done
        self.cid: int | None = None
        self.node = 0
        self.conn: WireConn | None = None
        self.session: Session | None = None
        self.last_zxid = 0
        self.last_sent = 0
        self.op: _Running | None = None
        self.seq = 0
        self.done = False

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, delay: int = 0) -> None:
        self.host.call_later(delay, self._wake)

    def _wake(self) -> None:
        if self.done or self.op is not None:
            return
        if self.cid is None:
            self._dial()
        elif self.conn is not None and self.conn.connected and self.session is not None:
            self._next_op()

    def _dial(self) -> None:
        host = self.host
        self.node = host.rng.choice(self.nodes)
        self.conn = WireConn(self.session, self.last_zxid, self.cfg.session_timeout_ms)
        cid = self.cid = host.connect(self, self.node)
        self._send(self.conn.connect_frame())
        host.call_later(self.cfg.connect_timeout_ms, self._dial_timeout, cid)

    def _dial_timeout(self, cid: int) -> None:
        if self.cid == cid and self.conn is not None and self.session_pending:
            self.host.hang_up(cid)
            self._lost("connect timeout")

    @property
    def session_pending(self) -> bool:
        return self.conn is not None and not (self.conn.connected and self.session is not None)

    def _send(self, data: bytes) -> None:
        assert self.cid is not None
        self.last_sent = self.host.now
        self.host.send(self.cid, data)

    def _ping(self, cid: int) -> None:
        if self.cid != cid or self.conn is None:
            return
        every = max(1, self.cfg.session_timeout_ms // 3)
        if self.host.now - self.last_sent >= every:
            self._send(self.conn.ping_frame())
        self.host.call_later(every, self._ping, cid)

    def finish(self, reason: str) -> None:
        """The run ends: an op still in flight is indeterminate."""
        if self.op is not None:
            self._complete("info" if self._changes(self.op.f) else "fail", None, {"error": reason})
        self.done = True

    # ---- bytes and connection events from the host ---------------------------------------------

    def on_data(self, cid: int, data: bytes) -> None:
        if cid != self.cid or self.conn is None:
            return
        answer, replies, events = self.conn.receive(data)
        self.last_zxid = max(self.last_zxid, self.conn.last_zxid)
        if answer is not None:
            if answer.id == 0:  # the session expired: the server closes; start a new one
                self.session = None
                return
            self.session = answer
            every = max(1, self.cfg.session_timeout_ms // 3)
            self.host.call_later(every, self._ping, cid)
            self.host.call_later(0, self._wake)
        op = self.op
        if op is None:
            return
        for r in replies:
            i = op.waiting.pop(r.xid, None)
            if i is not None:
                op.replies[i] = r
        if op.watching:
            if events:
                op.watching = False
                self._advance([])
        elif not op.waiting:
            self._advance([r for r in op.replies if r is not None])

    def on_closed(self, cid: int) -> None:
        if cid == self.cid:
            self._lost("connection lost")

    def _lost(self, reason: str) -> None:
        self.cid = None
        self.conn = None
        if self.op is not None:
            self._crashed(reason)
        if not self.done:
            self.host.call_later(randint(self.host.rng, 10, 100), self._wake)

    # ---- ops -----------------------------------------------------------------------------------

    def _changes(self, f: str) -> bool:
        return f not in self.workload.reads

    def _next_op(self) -> None:
        host = self.host
        if self.plan is not None:
            if not self.plan:
                self._stop()
                return
            f, value = self.plan[0]
        elif not host.active:
            self._stop()
            return
        else:
            f, value = self.workload.next_op(host.rng, self.process)
        self.seq += 1
        self.op = _Running(self.seq, f, value, self.workload.run(f, value, self.process), {}, [])
        if self.recording:
            host.record("invoke", self.process, f, value, self._fields())
        host.call_later(self.cfg.op_timeout_ms, self._timeout, self.seq)
        self._advance(None)

    def _advance(self, replies: list[Reply] | None) -> None:
        op = self.op
        assert op is not None and self.conn is not None
        try:
            reqs = op.gen.send(replies)  # type: ignore[arg-type]
        except StopIteration as stop:
            type_, value, extra = stop.value
            self._complete(type_, value, extra)
            return
        op.waiting = {}
        op.replies = [None] * len(reqs)
        op.watching = not reqs  # an empty round: wait for a watch event
        for i, req in enumerate(reqs):
            xid, frame = self.conn.frame(req)
            op.waiting[xid] = i
            self._send(frame)

    def _timeout(self, seq: int) -> None:
        op = self.op
        if op is None or op.seq != seq or self.cid is None:
            return
        self.host.hang_up(self.cid)
        self._lost("timeout")

    def _crashed(self, reason: str) -> None:
        op = self.op
        assert op is not None
        if self._changes(op.f):
            self._complete("info", None, {"error": reason})
            # the op may still take effect: go on as a new process with a new session
            self.process += self.cfg.process_stride
            self.session = None
        else:
            self._complete("fail", None, {"error": reason})

    def _complete(self, type_: str, value: Any, extra: dict[str, Any]) -> None:
        op = self.op
        assert op is not None
        self.op = None
        if self.recording:
            if value is None and type_ != "ok":
                value = op.value
            self.host.record(type_, self.process, op.f, value, {**self._fields(), **extra})
        if type_ == "ok" and self.plan:
            self.plan.pop(0)
        if self.cid is not None:
            self.host.call_later(randint(self.host.rng, 0, 2 * self.cfg.op_gap_ms), self._wake)

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"node": f"n{self.node}"}
        if self.session is not None:
            out["session"] = self.session.id
        out.update(self.extra)
        return out

    def _stop(self) -> None:
        self.done = True
        if self.cid is not None:
            self.host.hang_up(self.cid)
            self.cid = None
        if self.on_done is not None:
            self.on_done(self)
