"""The whole node in virtual time: N ZooKeeper servers and their clients under one seed.

Each server is what ``zablab node`` runs in an ensemble (zablab/node/ensemble.py): a
ServerCore with its data tree and session tracker, a ZabReplicator over the replica that
``make_replica`` builds, and Storage — here on a SimDisk, so a crash keeps only what was
synced. This module does what the ensemble's asyncio driver does, with simulated time:
replica actions become network messages (network.py), timers, log syncs after a random
delay, and trace events; the core's output bytes travel to simulated clients (clients.py)
that speak the ZooKeeper wire protocol and record a Jepsen-style history.

One ``random.Random(seed)`` makes every choice and events are ordered by (time, priority,
sequence number), so a seed names one run: the same history, byte for byte. A run has a
workload phase with faults (partitions that reset connections or silently hold messages,
crashes of one server or a quorum, restarts, slow links, pauses), then a heal, time to converge,
and a final read on a fresh session at every server; the history is checked by the
workload's checkers and the replicas' trace by the ZAB trace checker.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, assert_never

from zablab.checkers.result import Result, Validity, compose
from zablab.checkers.zab import check_zab_trace
from zablab.history.jsonl import Op
from zablab.node.replica import Close, Flush, Replica, Send, SetTimer, Trace, parse_paxos_mode
from zablab.node.replica.factory import make_replica
from zablab.node.server import ServerCore
from zablab.node.storage import SimDisk, Storage
from zablab.node.zab_replicator import IoAction, ZabReplicator

from .clients import ClientConfig, SimClient
from .cluster import SimConfig
from .draw import uniform_ints
from .network import Network
from .workloads import OpRun, SimWorkload, ensure, make_workload

_NOW, _LATER = 0, 1  # event priorities at equal times: resets first
WALL0 = 1_700_000_000_000  # the servers' wall clock at simulated time 0 (epoch ms)
NS = 1_000_000  # history times are ns; simulated time is ms


@dataclass(frozen=True)
class WholeConfig:
    """Knobs of one whole-node run; every field is a ``zablab sim --workload`` option."""

    nodes: int = 3
    workload: str = "register"
    clients: int = 4
    duration_ms: int = 4000  # workload and faults
    converge_ms: int = 6000  # after the heal, before the final reads
    final_ms: int = 3000  # for the final reads
    tick_ms: int = 100
    init_limit: int = 10
    sync_limit: int = 5
    max_delay_ms: int = 8
    max_flush_ms: int = 12
    op_gap_ms: int = 20
    op_timeout_ms: int = 1000
    session_timeout_ms: int = 1500
    fault_every_ms: int = 400  # mean gap between faults; 0: none
    committed_log_size: int = 4  # small, so that SNAP syncs happen
    snap_count: int = 40  # deliveries between snapshots
    check_timeout_s: float = 30.0
    max_events: int = 2_000_000  # a run that needs more stops, and its verdict is unknown
    protocol: str = "zab"
    paxos_mode: str = "deltas"  # on paxos: decide the primary's txns or the clients' commands
    bugs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        make_workload(self.workload)  # a bad name is one UserError line
        self.replica_sim_config()
        parse_paxos_mode(self.paxos_mode, self.protocol)

    def replica_sim_config(self) -> SimConfig:
        """The bare-replica simulator's config for the same timing: its ReplicaConfig and
        protocol/bug checks serve both simulators."""
        return SimConfig(
            nodes=self.nodes,
            tick_ms=self.tick_ms,
            init_limit=self.init_limit,
            sync_limit=self.sync_limit,
            max_delay_ms=self.max_delay_ms,
            committed_log_size=self.committed_log_size,
            protocol=self.protocol,
            bugs=self.bugs,
        )

    def replay_command(self, seed: int) -> str:
        parts = ["zablab sim", f"--workload {self.workload}", f"--nodes {self.nodes}"]
        parts.append(f"--seed {seed}")
        default = WholeConfig()
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("workload", "nodes"):
                continue
            if f.name == "bugs":
                parts += [f"--bug {b}" for b in v]
            elif v != getattr(default, f.name):
                parts.append(f"--{f.name.replace('_', '-')} {v}")
        return " ".join(parts)


@dataclass(slots=True)
class Server:
    id: int
    disk: SimDisk
    up: bool = False
    inc: int = 0  # incarnation: events of an earlier one are dropped
    core: ServerCore | None = None
    rep: ZabReplicator | None = None
    storage: Storage | None = None
    timers: set[int] = field(default_factory=set)
    since_snap: int = 0
    paused_until: int = 0  # SIGSTOP: its events wait until then
    flush_wanted: bool = False
    flushing: bool = False  # a log sync is under way

    @property
    def replica(self) -> Replica | None:
        return self.rep.replica if self.rep is not None and self.up else None


@dataclass(slots=True)
class _Link:
    """A client's TCP connection to a server: FIFO both ways, reset by a crash."""

    client: SimClient
    node: int
    inc: int
    alive: bool = True  # the client side still has it
    server_open: bool = True
    c2s_last: int = 0
    s2c_last: int = 0


@dataclass
class WholeResult:
    seed: int
    config: WholeConfig
    history: list[Op]
    trace: list[dict[str, Any]]
    result: Result
    stats: dict[str, int]
    history_hash: str
    trace_hash: str

    @property
    def valid(self) -> Validity:
        return self.result.valid

    def history_jsonl(self) -> str:
        return "".join(json.dumps(o.to_dict(), separators=(",", ":")) + "\n" for o in self.history)

    def summary(self) -> str:
        word = {True: "valid", False: "INVALID", "unknown": "unknown"}[self.valid]
        s = self.stats
        head = (
            f"seed {self.seed}: {word} ({s['ok']} ok / {s['ops']} ops, {s['crashes']} crashes, "
            f"{s['partitions']} partitions, {s['elected']} leaders, {s['events']} events, "
            f"history {self.history_hash[:12]})"
        )
        if self.valid is True:
            return head
        lines = [head] + [f"  - {r}" for r in failing(self.result)[:10]]
        lines.append(f"  replay: {self.config.replay_command(self.seed)}")
        return "\n".join(lines)


def failing(r: Result, path: str = "") -> list[str]:
    """One line per leaf result that is not valid: which checker, and its reason."""
    name = f"{path}/{r.checker}" if path else r.checker
    if r.children:
        return [x for c in r.children for x in failing(c, name)]
    if r.valid is True:
        return []
    d = r.details
    why = str(d.get("reason") or d.get("error") or "")
    if not why and isinstance(d.get("op"), dict):
        why = (
            f"no linearization explains {d['op'].get('describe')} (history index "
            f"{d['op'].get('complete_index')})"
        )
    if not why and d.get("anomaly-types"):
        why = "anomalies: " + ", ".join(map(str, d["anomaly-types"]))
    if not why and d.get("examples"):
        why = "; ".join(str(e) for e in d["examples"][:2])
    return [f"{name}: {r.valid} {why}".rstrip()]


class WholeSim:
    def __init__(self, seed: int, config: WholeConfig | None = None) -> None:
        self.seed = seed
        self.cfg = cfg = config or WholeConfig()
        self.rcfg = cfg.replica_sim_config().replica_config()
        self.rng = random.Random(seed)
        self.ids = list(range(1, cfg.nodes + 1))
        self.net = Network(self.ids, self.rng, cfg.max_delay_ms)
        self._hop = uniform_ints(self.rng, 1, cfg.max_delay_ms)  # a client link's delay
        self._flush_delay = uniform_ints(self.rng, 1, cfg.max_flush_ms)
        self.servers = {i: Server(i, SimDisk(f"node{i}")) for i in self.ids}
        self.workload: SimWorkload = make_workload(cfg.workload)
        self.queue: list[tuple[int, int, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = 0
        self.now = 0
        self.active = True
        self.finished = False
        self.bound_hit = ""  # why the run stopped before its end, if it did
        self.trace: list[dict[str, Any]] = []
        self.history: list[Op] = []
        self.links: dict[int, _Link] = {}
        self.next_cid = 0
        self.held: list[tuple[int, int, str, int, int, Any]] = []  # across a silent cut
        self.clients: list[SimClient] = []
        self.finals: list[SimClient] = []
        self.stats = {"crashes": 0, "partitions": 0, "pauses": 0, "events": 0}
        self._event: tuple[Callable[..., None], tuple[Any, ...]] = (self._nothing, ())
        self.ccfg = ClientConfig(
            op_gap_ms=cfg.op_gap_ms,
            op_timeout_ms=cfg.op_timeout_ms,
            connect_timeout_ms=max(cfg.op_timeout_ms // 2, 4 * cfg.max_delay_ms),
            session_timeout_ms=cfg.session_timeout_ms,
            process_stride=cfg.clients,
        )

    # ---- the event queue --------------------------------------------------------------------

    def call_later(self, ms: int, fn: Callable[..., None], *args: Any) -> None:
        self.seq += 1  # self.at inlined: the clients' timers and hops come through here
        heapq.heappush(self.queue, (self.now + ms, _LATER, self.seq, fn, args))

    def at(self, t: int, fn: Callable[..., None], *args: Any, prio: int = _LATER) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (t, prio, self.seq, fn, args))

    def run(self) -> WholeResult:
        self.simulate()
        return self.result()

    def simulate(self) -> None:
        """The run itself: boot, workload with faults, heal, convergence, final reads."""
        cfg = self.cfg
        for n in self.ids:
            self.restart(n)
        setup = SimClient(
            self,
            -1,
            self.workload,
            self.ids,
            self.ccfg,
            plan=[("setup", None)],
            record=False,
            on_done=self._setup_done,
        )
        setup.workload = _Setup(self.workload)
        setup.start(self.rng.randint(1, cfg.tick_ms))
        if cfg.fault_every_ms > 0:
            self.at(self._gap(cfg.fault_every_ms), self._fault)
        self.at(cfg.duration_ms, self._heal_all)
        settle = self.workload.settle_ms(cfg.session_timeout_ms)
        end = cfg.duration_ms + cfg.converge_ms + settle + cfg.final_ms
        queue, pop, events, limit = self.queue, heapq.heappop, 0, cfg.max_events
        while queue and not self.finished:
            t, _, _, fn, args = pop(queue)
            if t > end:
                break
            self.now = t
            events += 1
            if events > limit:
                self.bound_hit = f"stopped at {t} ms after {limit} events (--max-events)"
                break
            self._event = (fn, args)
            fn(*args)
        self.stats["events"] = events
        for c in self.clients + self.finals:
            c.finish("the run ended")

    def _gap(self, mean: int) -> int:
        return self.now + self.rng.randint(1, 2 * mean)

    # ---- servers ---------------------------------------------------------------------------

    def restart(self, n: int) -> None:
        s = self.servers[n]
        s.up = True
        s.inc += 1
        s.timers = set()
        s.since_snap = 0
        s.flush_wanted = s.flushing = False
        s.storage = Storage(s.disk)
        core = ServerCore(
            tick_ms=self.cfg.tick_ms, server_id=n, now=self.now, wall=WALL0 + self.now
        )
        replica = make_replica(self.cfg.protocol, n, self.ids, self.rcfg, s.storage, core)
        s.core = core
        s.rep = ZabReplicator(core, replica, mode=self.cfg.paxos_mode, protocol=self.cfg.protocol)
        core.on_apply = lambda _txn, s=s: self._applied(s)
        s.rep.handle(replica.start(self.now))
        self._pump(s)
        self.at(self.now + self.rng.randint(1, self.cfg.tick_ms), self._tick, n, s.inc)

    @staticmethod
    def _applied(s: Server) -> None:
        s.since_snap += 1

    def crash(self, n: int) -> None:
        s = self.servers[n]
        if not s.up:
            return
        self.stats["crashes"] += 1
        s.up = False
        s.inc += 1
        s.paused_until = 0
        s.core = None
        s.rep = None
        s.disk.crash(self.rng)
        for m in self.ids:
            if m != n:
                self.net.break_pair(n, m)
                self.at(self.now, self._disconnect, m, n, prio=_NOW)
        for cid, ln in self.links.items():
            if ln.node == n and ln.alive:
                ln.alive = False
                ln.server_open = False
                self.at(self.now, ln.client.on_closed, cid, prio=_NOW)
        if self.active:
            self.at(self.now + self.rng.randint(50, 1500), self._revive, n)

    def _resumed(self, n: int) -> None:
        s = self.servers[n]
        if s.paused_until > self.now:  # the pause was extended
            self.at(s.paused_until, self._resumed, n)
        else:
            self._nemesis("resume", [f"n{n}"])

    def _revive(self, n: int) -> None:
        if self.active and not self.servers[n].up:
            self._nemesis("restart", [f"n{n}"])
            self.restart(n)

    def _alive(self, n: int, inc: int) -> Server | None:
        s = self.servers[n]
        if not s.up or s.inc != inc:
            return None
        self._clock(s)
        return s

    def _target(self, n: int, inc: int) -> Server | None:
        """The server an event is for, if it is up in that incarnation and running. A paused
        one (SIGSTOP) handles nothing: the event waits, in order, until the pause ends."""
        s = self.servers[n]
        if not s.up or s.inc != inc:
            return None
        now = self.now
        core = s.core
        assert core is not None
        core.now = now  # as _clock (inlined: this runs for nearly every event)
        core.wall = WALL0 + now
        if s.paused_until > now:
            fn, args = self._event
            self.at(s.paused_until, fn, *args, prio=_NOW)
            return None
        return s

    def _clock(self, s: Server) -> None:
        assert s.core is not None
        s.core.now = self.now
        s.core.wall = WALL0 + self.now

    def _pump(self, s: Server) -> None:
        """After every event at a server: carry out the replica's I/O and send the core's
        output to the clients, then take a snapshot when one is due (as the ensemble)."""
        rep, core = s.rep, s.core
        assert rep is not None and core is not None
        while True:
            io = rep.io
            if io:
                rep.io = []
                self._io(s, io)
            if s.flush_wanted and not s.flushing:
                # one log sync at a time; Flushes meanwhile share the next (as the ensemble)
                s.flush_wanted, s.flushing = False, True
                t = self.now + self._flush_delay()
                self.at(t, self._flushed, s.id, s.inc)
            if core.dirty or core.to_close:
                for cid, data, close in core.take_output():
                    self._to_client(cid, data, close)
                    if close:
                        core.closed(cid)
            replica = rep.replica
            if (
                not rep.io
                and not s.flushing
                and s.since_snap >= self.cfg.snap_count
                and replica.committed_zxid == core.tree.last_zxid
            ):
                s.since_snap = 0
                rep.handle(replica.compact(self.now))
            if not rep.io:
                return

    def _io(self, s: Server, io: list[IoAction]) -> None:
        """The replica's I/O actions, in order. An isinstance chain, most frequent first: a
        ``match`` on class patterns costs about three times as much, on every action."""
        for a in io:
            if isinstance(a, Send):
                self._send_peer(s.id, a.to, a.msg)
            elif isinstance(a, Trace):
                self.trace.append(a.event)
            elif isinstance(a, Flush):
                s.flush_wanted = True
            elif isinstance(a, SetTimer):
                t = max(a.at, self.now)
                if t not in s.timers:
                    s.timers.add(t)
                    self.at(t, self._timer, s.id, s.inc, t)
            elif isinstance(a, Close):
                self.net.close_zab(s.id, a.peer)
                self.at(self.now, self._disconnect, a.peer, s.id, prio=_NOW)
            else:
                assert_never(a)

    # ---- peer network (the bare-replica simulator's network) -------------------------------------

    def _send_peer(self, a: int, b: int, msg: Any) -> None:
        src, dst, net = self.servers[a], self.servers[b], self.net
        sender = src.rep.replica if src.rep is not None and src.up else None
        if sender is None or not dst.up:
            net.dropped += 1
            return
        ch = sender.channel_of(msg)
        if net.group[a] != net.group[b]:
            self.held.append((a, b, ch, net.link(a, b, ch).gen, dst.inc, msg))
            return
        t, gen = net.schedule(self.now, a, b, ch)
        self.seq += 1
        heapq.heappush(
            self.queue, (t, _LATER, self.seq, self._message, (a, b, ch, gen, dst.inc, msg))
        )

    def _message(self, a: int, b: int, ch: str, gen: int, inc: int, msg: Any) -> None:
        s = self._target(b, inc)
        if s is None:
            return
        ln = self.net.links.get((a, b, ch))
        if (ln.gen if ln is not None else 0) != gen:  # not net.current: no Link made here
            return
        assert s.rep is not None
        s.rep.handle(s.rep.replica.on_message(self.now, a, msg))
        self._pump(s)

    def _disconnect(self, n: int, peer: int) -> None:
        s = self._target(n, self.servers[n].inc)
        if s is None:
            return
        assert s.rep is not None
        s.rep.handle(s.rep.replica.on_disconnect(self.now, peer))
        self._pump(s)

    def _release_held(self) -> None:
        waiting, self.held = self.held, []
        for a, b, ch, gen, inc, msg in waiting:
            if self.net.connected(a, b):
                t, _ = self.net.schedule(self.now, a, b, ch)
                self.at(t, self._message, a, b, ch, gen, inc, msg)
            else:
                self.held.append((a, b, ch, gen, inc, msg))

    # ---- server events ------------------------------------------------------------------------

    def _tick(self, n: int, inc: int) -> None:
        s = self._target(n, inc)
        if s is None:
            return
        assert s.rep is not None and s.core is not None
        s.rep.report_touches()
        s.rep.handle(s.rep.replica.on_tick(self.now))
        s.core.tick()
        self._pump(s)
        self.at(self.now + self.cfg.tick_ms, self._tick, n, inc)

    def _timer(self, n: int, inc: int, t: int) -> None:
        s = self._target(n, inc)
        if s is None:
            return
        assert s.rep is not None
        s.timers.discard(t)
        s.rep.handle(s.rep.replica.on_timer(self.now))
        self._pump(s)

    def _flushed(self, n: int, inc: int) -> None:
        s = self._target(n, inc)
        if s is None:
            return
        assert s.rep is not None and s.storage is not None
        s.flushing = False
        s.storage.log.sync()
        s.rep.handle(s.rep.replica.on_flushed(self.now))
        self._pump(s)

    # ---- client connections (clients.Host) ------------------------------------------------------

    def connect(self, client: SimClient, node: int) -> int:
        self.next_cid += 1
        cid = self.next_cid
        s = self.servers[node]
        ln = self.links[cid] = _Link(client, node, s.inc)
        if s.up and s.core is not None:
            self._clock(s)
            ip = f"10.0.{cid // 250}.{cid % 250 + 1}"
            if s.core.open(cid, f"{ip}:{40000 + cid}", ip):
                return cid
        ln.server_open = False  # refused: the client sees the reset after a round trip
        self.at(self.now + self._hop(), self._refused, cid)
        return cid

    def _refused(self, cid: int) -> None:
        ln = self.links[cid]
        if ln.alive:
            ln.alive = False
            ln.client.on_closed(cid)

    def send(self, cid: int, data: bytes) -> None:
        ln = self.links[cid]
        if not ln.alive:
            return
        t = max(self.now + self._hop(), ln.c2s_last)
        ln.c2s_last = t
        self.seq += 1
        heapq.heappush(self.queue, (t, _LATER, self.seq, self._c2s, (cid, data)))

    def _c2s(self, cid: int, data: bytes) -> None:
        ln = self.links[cid]
        if not ln.server_open:
            return
        s = self._target(ln.node, ln.inc)
        if s is None:
            return
        assert s.core is not None
        s.core.data(cid, data)
        self._pump(s)

    def _to_client(self, cid: int, data: bytes, close: bool) -> None:
        ln = self.links.get(cid)
        if ln is None:
            return
        if close:
            ln.server_open = False
        t = max(self.now + self._hop(), ln.s2c_last)
        ln.s2c_last = t
        self.seq += 1
        heapq.heappush(self.queue, (t, _LATER, self.seq, self._s2c, (cid, data, close)))

    def _s2c(self, cid: int, data: bytes, close: bool) -> None:
        ln = self.links[cid]
        if not ln.alive:
            return
        if data:
            ln.client.on_data(cid, data)
        if close and ln.alive:
            ln.alive = False
            ln.client.on_closed(cid)

    def hang_up(self, cid: int) -> None:
        ln = self.links[cid]
        ln.alive = False
        if not ln.server_open:
            return
        ln.server_open = False
        s = self._alive(ln.node, ln.inc)
        if s is not None:
            assert s.core is not None
            s.core.closed(cid)
            self._pump(s)

    def record(self, type_: str, process: int, f: str, value: Any, extra: dict[str, Any]) -> None:
        self.history.append(Op(len(self.history), self.now * NS, type_, process, f, value, extra))

    # ---- workload phases ---------------------------------------------------------------------

    def _setup_done(self, _setup: SimClient) -> None:
        for p in range(self.cfg.clients):
            c = SimClient(self, p, self.workload, self.ids, self.ccfg)
            self.clients.append(c)
            c.start(self.rng.randint(0, self.cfg.op_gap_ms))

    def _heal_all(self) -> None:
        self.active = False
        self._nemesis("stop-partition", None)
        self.net.heal()
        self._release_held()
        for n in self.ids:
            if not self.servers[n].up:
                self._nemesis("restart", [f"n{n}"])
                self.restart(n)
        self.at(self.now + self.cfg.tick_ms, self._await_convergence)

    def _await_convergence(self) -> None:
        if self.converged() or self.now >= self.cfg.duration_ms + self.cfg.converge_ms:
            settle = self.workload.settle_ms(self.cfg.session_timeout_ms)
            self.at(self.now + settle, self._final_reads)
        else:
            self.at(self.now + self.cfg.tick_ms, self._await_convergence)

    def converged(self) -> bool:
        replicas = [s.replica for s in self.servers.values()]
        leaders = [r for r in replicas if r is not None and r.is_leader]
        if len(leaders) != 1:
            return False
        last = leaders[0].last_zxid
        return all(r is not None and r.serving and r.committed_zxid == last for r in replicas)

    def _final_reads(self) -> None:
        first = 1 + max((o.process for o in self.history if o.is_client), default=0)
        first = max(first, 10 * self.cfg.clients)
        # one reader per server; after an info each moves on by the number of readers, so
        # their process ids stay apart
        ccfg = replace(self.ccfg, process_stride=len(self.ids))
        for i, n in enumerate(self.ids):
            c = SimClient(
                self,
                first + i,
                self.workload,
                [n],
                ccfg,
                plan=list(self.workload.final_ops()),
                extra={"final": True},
                on_done=self._final_done,
            )
            self.finals.append(c)
            c.start()

    def _final_done(self, _c: SimClient) -> None:
        if all(c.done for c in self.finals):
            self.finished = True

    @staticmethod
    def _nothing() -> None:
        pass

    # ---- faults --------------------------------------------------------------------------------

    def _nemesis(self, f: str, value: Any) -> None:
        self.record("invoke", "nemesis", f, None, {})  # type: ignore[arg-type]
        self.record("info", "nemesis", f, value, {})  # type: ignore[arg-type]

    def _fault(self) -> None:
        if not self.active:
            return
        rng = self.rng
        kind = rng.choices(
            ["partition", "heal", "crash", "crash-quorum", "slow", "pause"],
            weights=[4, 3, 3, 1, 2, 2],
        )[0]
        if kind == "partition" and len(self.ids) > 1:
            order = self.ids[:]
            rng.shuffle(order)
            cut = rng.randint(1, len(order) - 1)
            groups = [sorted(order[:cut]), sorted(order[cut:])]
            silent = rng.random() < 0.5
            self.stats["partitions"] += 1
            self._nemesis("start-partition", [[f"n{x}" for x in g] for g in groups])
            for a, b in self.net.partition(groups, silent=silent):
                self.at(self.now, self._disconnect, a, b, prio=_NOW)
                self.at(self.now, self._disconnect, b, a, prio=_NOW)
            self._release_held()
        elif kind == "heal":
            self._nemesis("stop-partition", None)
            self.net.heal()
            self._release_held()
        elif kind in ("crash", "crash-quorum"):
            k = 1 if kind == "crash" else len(self.ids) // 2 + 1
            victims = sorted(rng.sample(self.ids, k))
            self._nemesis("kill", [f"n{v}" for v in victims])
            for v in victims:
                self.crash(v)
        elif kind == "pause":
            s = self.servers[rng.choice(self.ids)]
            until = self.now + rng.randint(1, 12) * self.cfg.tick_ms
            if s.up and s.paused_until <= self.now:
                self.stats["pauses"] += 1
                self._nemesis("pause", [f"n{s.id}"])
                self.at(until, self._resumed, s.id)
            s.paused_until = max(s.paused_until, until)  # never cut a pause short
        else:
            victim = rng.choice(self.ids)
            self.net.slow[victim] = rng.randint(1, 4) * self.cfg.tick_ms
            self._nemesis("start-delay", {f"n{victim}": self.net.slow[victim]})
        self.at(self._gap(self.cfg.fault_every_ms), self._fault)

    # ---- the verdict ------------------------------------------------------------------------------

    def result(self) -> WholeResult:
        verdict = judge(self.history, self.trace, self.workload, self.ids, self.cfg)
        if self.bound_hit:
            bound = Result("run", "unknown", {"reason": self.bound_hit})
            verdict = compose(verdict.checker, [*verdict.children, bound])
        text = "".join(json.dumps(o.to_dict(), separators=(",", ":")) + "\n" for o in self.history)
        th = hashlib.sha256()
        for ev in self.trace:
            th.update(json.dumps(ev, sort_keys=True).encode() + b"\n")
        client = [o for o in self.history if o.is_client]
        stats = dict(self.stats)
        stats.update(
            ops=sum(1 for o in client if o.type == "invoke"),
            ok=sum(1 for o in client if o.type == "ok"),
            info=sum(1 for o in client if o.type == "info"),
            elected=sum(1 for e in self.trace if e.get("event") == "elected"),
            messages=self.net.sent,
            sim_ms=self.now,
        )
        return WholeResult(
            self.seed,
            self.cfg,
            self.history,
            self.trace,
            verdict,
            stats,
            hashlib.sha256(text.encode()).hexdigest(),
            th.hexdigest(),
        )


class _Setup(SimWorkload):
    """The workload's znode, created before any client op (not part of the history)."""

    def __init__(self, workload: SimWorkload) -> None:
        super().__init__()
        self.paths = workload.setup_paths()

    def run(self, f: str, value: Any, process: int) -> OpRun:
        return ensure(*self.paths)


def judge(
    history: list[Op],
    trace: list[dict[str, Any]],
    workload: SimWorkload,
    nodes: list[int],
    cfg: WholeConfig,
) -> Result:
    """The workload's checkers on the history, the ZAB checker on the trace, and whether every
    server answered its final read. No completed op: unknown, never valid."""
    ok = [o for o in history if o.is_client and o.type == "ok"]
    if ok:
        wl = workload.check(history, cfg.check_timeout_s)
    else:
        wl = Result(workload.name, "unknown", {"reason": "no client operation completed"})
    zab = check_zab_trace(trace, quiesced=False)
    answered = {o.extra.get("node") for o in ok if o.extra.get("final")}
    missing = [f"n{n}" for n in nodes if f"n{n}" not in answered]
    final = Result(
        "final-reads",
        "unknown" if missing else True,
        {"reason": f"no final read answered on {', '.join(missing)}"} if missing else {},
    )
    return compose("whole-node", [wl, zab, final] if workload.final_ops() else [wl, zab])


def simulate_whole(seed: int, config: WholeConfig | None = None) -> WholeResult:
    return WholeSim(seed, config).run()


__all__ = ["WholeConfig", "WholeResult", "WholeSim", "simulate_whole"]
