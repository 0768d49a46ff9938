"""The stepper over whole ZooKeeper servers, with scripted clients: each choice is a step.

A ``Stepper`` (stepper.py) drives bare replicas whose application is a list of payloads; here
each node is what ``zablab node`` runs in an ensemble — a ServerCore with its data tree over a
ZabReplicator over the replica, in the Paxos mode asked for — so a step can show what a
protocol's order does to the tree and to the clients. The replicas, disks, links and the step
vocabulary are the Stepper's; three client steps are added:

- ``connect`` (client, node): the client (re)connects there, resuming its session if it has one;
- ``request`` (client, f, key, value): ``create``/``put`` (setData) on ``key``, or ``get``
  (sync, then getData); put and get are recorded in the history as a kv store's ops, ``final``
  marks a read after the heal;
- ``hangup`` (client): the client closes its connection.

Client bytes reach the server at once and the server's answers reach the client at once (the
schedule is about the replicas' messages); a connection the server closes, or a crash, turns
the client's writes in flight into ``info`` ops. The core's own ticks (session expiry) are not
run: sessions stay alive, so no step's outcome hangs on a timeout. Every txn a server applies
is first checked against its tree (misfit.py); what does not fit is kept in ``misfits``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zablab.history.jsonl import Op
from zablab.node.misfit import misfits
from zablab.node.protocol import Err
from zablab.node.replica import Action, Replica, ReplicaConfig, parse_paxos_mode
from zablab.node.replica.factory import make_replica
from zablab.node.replica.zxid import fmt
from zablab.node.server import ServerCore
from zablab.node.storage import Storage
from zablab.node.txn import Txn
from zablab.node.zab_replicator import ZabReplicator

from . import wire
from .cluster import SimConfig
from .stepper import Stepper
from .wire import Reply, Session, WireConn

CLIENT_STEPS = ("connect", "request", "hangup")
WALL0 = 1_700_000_000_000  # the servers' wall clock at simulated time 0 (epoch ms)
NS = 1_000_000  # history times are ns
SESSION_MS = 10_000


def trace_hash(trace: list[dict[str, Any]]) -> str:
    """The hash a saved trace file keeps, as the bare-replica simulator computes it."""
    h = hashlib.sha256()
    for ev in trace:
        h.update(json.dumps(ev, sort_keys=True).encode() + b"\n")
    return h.hexdigest()


@dataclass
class Client:
    name: str
    process: int
    node: int = 0
    cid: int | None = None
    conn: WireConn | None = None
    session: Session | None = None
    last_zxid: int = 0
    # xid -> (what, key, value, final, the op's process)
    inflight: dict[int, tuple[str, str, Any, bool, int]] = field(default_factory=dict)
    ops: int = 0


ReplicaFactory = Callable[[str, int, list[int], ReplicaConfig, Storage, ServerCore], Replica]
"""How a server's replica is built: ``make_replica``'s signature (a lab passes the student's)."""


class ServerStepper(Stepper):
    def __init__(
        self,
        config: SimConfig | None = None,
        mode: str = "deltas",
        replica_factory: ReplicaFactory | None = None,
    ) -> None:
        super().__init__(config)
        self.mode = parse_paxos_mode(mode, self.cfg.protocol)
        self.make_replica: ReplicaFactory = replica_factory or make_replica
        self.reps: dict[int, ZabReplicator] = {}
        self.clients: dict[str, Client] = {}
        self.links: dict[int, str] = {}  # connection id -> client name
        self.next_cid = 0
        self.history: list[Op] = []
        self.misfits: list[str] = []

    # -- servers ---------------------------------------------------------------------------

    def restart(self, n: int) -> None:
        node = self.nodes[n]
        self.rec("restart", node=n)
        self.flushes[n] = 0
        self.proposals[n].clear()
        self.notices[n].clear()
        node.up = True
        node.incarnation += 1
        node.timers = set()
        node.storage = Storage(node.disk)
        now = self.clock(n)
        core = ServerCore(tick_ms=self.cfg.tick_ms, server_id=n, now=now, wall=WALL0 + now)
        core.before_apply = lambda txn, n=n: self._fit(n, txn)
        replica = self.make_replica(self.cfg.protocol, n, self.ids, self.rcfg, node.storage, core)
        node.replica = replica
        self.reps[n] = ZabReplicator(core, replica, mode=self.mode, protocol=self.cfg.protocol)
        self.apply(n, replica.start(now))

    def crash(self, n: int) -> None:
        was_up = self.nodes[n].up
        super().crash(n)
        if was_up:
            self.reps.pop(n, None)
            for cid, name in list(self.links.items()):
                if self.clients[name].node == n:
                    self._closed(cid)

    def core(self, n: int) -> ServerCore | None:
        rep = self.reps.get(n)
        return rep.core if rep is not None and self.nodes[n].up else None

    def apply(self, n: int, actions: list[Action]) -> None:
        """The replica's actions go through the server's replicator (delivery, prep, roles);
        what it leaves for the driver (messages, syncs, timers, trace) is the Stepper's."""
        rep = self.reps.get(n)
        if rep is None or self.nodes[n].replica is not rep.replica:
            super().apply(n, actions)
            return
        self._clock(n)
        rep.handle(actions)
        self._pump(n)

    def _clock(self, n: int) -> None:
        rep = self.reps[n]
        now = self.clock(n)
        rep.core.now, rep.core.wall = now, WALL0 + now

    def _pump(self, n: int) -> None:
        """Carry out what the replicator left for the driver, then the core's client output
        (a client's bytes make the replicator act too: a write is proposed at once)."""
        rep = self.reps.get(n)
        while rep is not None and rep.io:
            io, rep.io = rep.io, []
            super().apply(n, list(io))
        self._output(n)

    def _fit(self, n: int, txn: Txn) -> None:
        core = self.core(n)
        if core is None:
            return
        for m in misfits(core.tree, txn.type, txn.body):
            self.misfits.append(f"node {n} applied txn {fmt(txn.zxid)}: {m}")

    # -- steps -----------------------------------------------------------------------------

    def step(self, s: dict[str, Any]) -> bool:
        if s["do"] not in CLIENT_STEPS:
            return super().step(s)
        self.now = max(self.now, int(s.get("t", self.now)))
        before = len(self.steps)
        name = str(s["client"])
        c = self.clients.get(name)
        if c is None:
            c = self.clients[name] = Client(name, len(self.clients))
        if s["do"] == "connect":
            self._connect(c, int(s["node"]))
        elif s["do"] == "hangup":
            if c.cid is not None:
                core = self.core(c.node)
                if core is not None:
                    core.closed(c.cid)
                self.rec("hangup", client=name)
                self._closed(c.cid)
        else:
            self._request(c, s)
        self.stats["events"] += 1
        self.trace_step += [len(self.steps) - 1] * (len(self.trace) - len(self.trace_step))
        return len(self.steps) > before

    def _connect(self, c: Client, n: int) -> None:
        core = self.core(n)
        if core is None or not core.serving:
            return
        if c.cid is not None:  # leave the old server first, as a client that moves does
            old = self.core(c.node)
            if old is not None:
                old.closed(c.cid)
            self._closed(c.cid)
        self.rec("connect", client=c.name, node=n)
        self.next_cid += 1
        cid = self.next_cid
        ip = f"10.0.0.{cid % 250 + 1}"
        if not core.open(cid, f"{ip}:{40000 + cid}", ip):
            return
        c.cid, c.node = cid, n
        c.conn = WireConn(c.session, c.last_zxid, SESSION_MS)
        self.links[cid] = c.name
        self._clock(n)
        core.data(cid, c.conn.connect_frame())
        self._pump(n)

    def _request(self, c: Client, s: dict[str, Any]) -> None:
        core = self.core(c.node)
        conn = c.conn
        if core is None or c.cid is None or conn is None or c.session is None:
            return  # not connected: the request is never sent
        f, key, value = str(s["f"]), str(s["key"]), s.get("value")
        final = bool(s.get("final"))
        extra = {"label": s["label"]} if "label" in s else {}
        self.rec("request", client=c.name, f=f, key=key, value=value, final=final, **extra)
        if f == "get":
            reqs = [("sync", wire.sync(key)), ("get", wire.get_data(key))]
        elif f == "put":
            reqs = [("put", wire.set_data(key, str(value).encode()))]
        elif f == "create":
            reqs = [("create", wire.create(key, str(value or "").encode()))]
        else:
            raise ValueError(f"unknown client request {f!r}")
        # a session pipelines its requests, a history's process has one op at a time: each op
        # is its own process (the checker then takes a session's ops as concurrent unless one
        # returned before the next began, which only widens what it accepts)
        c.ops += 1
        proc = c.process * 1000 + c.ops
        if f in ("put", "get"):
            self._record("invoke", proc, c, f, key, value if f == "put" else None, final)
        self._clock(c.node)
        for part, req in reqs:
            xid, frame = conn.frame(req)
            c.inflight[xid] = (part, key, value, final, proc)
            core.data(c.cid, frame)
        self._pump(c.node)

    # -- client side -------------------------------------------------------------------------

    def _output(self, n: int) -> None:
        core = self.core(n)
        if core is None:
            return
        for cid, data, close in core.take_output():
            name = self.links.get(cid)
            if name is None:
                continue
            c = self.clients[name]
            if data and c.conn is not None and c.cid == cid:
                answer, replies, _events = c.conn.receive(data)
                c.last_zxid = max(c.last_zxid, c.conn.last_zxid)
                if answer is not None:
                    c.session = answer if answer.id else None
                for r in replies:
                    self._reply(c, r)
            if close:
                self._closed(cid)

    def _reply(self, c: Client, r: Reply) -> None:
        part = c.inflight.pop(r.xid, None)
        if part is None:
            return
        what, key, value, final, proc = part
        if what == "put":
            if r.err == Err.OK:
                self._record("ok", proc, c, "put", key, value, final)
            else:
                err = f"zookeeper error {r.err}"
                self._record("fail", proc, c, "put", key, value, final, err)
        elif what == "get":
            if r.err == Err.OK:
                data, _stat = wire.data_and_stat(r)
                self._record("ok", proc, c, "get", key, data.decode(), final)
            else:
                err = f"zookeeper error {r.err}"
                self._record("fail", proc, c, "get", key, None, final, err)

    def _closed(self, cid: int) -> None:
        name = self.links.pop(cid, None)
        if name is None:
            return
        c = self.clients[name]
        if c.cid != cid:
            return
        for what, key, value, final, proc in c.inflight.values():
            if what == "put":  # it may still take effect
                self._record("info", proc, c, "put", key, value, final, "connection lost")
            elif what == "get":
                self._record("fail", proc, c, "get", key, None, final, "connection lost")
        c.inflight.clear()
        c.cid, c.conn = None, None

    def _record(
        self,
        type_: str,
        process: int,
        c: Client,
        f: str,
        key: str,
        value: Any,
        final: bool,
        error: str = "",
    ) -> None:
        extra: dict[str, Any] = {"key": key, "node": f"n{c.node}", "client": c.name}
        if final:
            extra["final"] = True
        if error:
            extra["error"] = error
        self.history.append(Op(len(self.history), self.now * NS, type_, process, f, value, extra))
