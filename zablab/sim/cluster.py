"""A deterministic run of N ZAB replicas: virtual clock, seeded faults and workload.

Everything random comes from one ``random.Random(seed)`` and events are ordered by
(time, priority, sequence number), so a seed names exactly one run (same trace hash).
During the active phase clients write at random servers while a nemesis partitions the
network, crashes single servers or a quorum at once (losing unsynced disk writes; SimDisk may
keep a torn prefix), restarts them, pauses processes (SIGSTOP: their events wait, in order)
and slows links (delays of several ticks, still FIFO); then everything is healed and restarted
and the cluster gets time to converge before the checks in checks.py run.

With a lasting fault (``SimConfig.lasting``) the end differs: at the heal a seeded random
minority is crashed for good, or partitioned away for good, and the rest is healed and
restarted; clients keep writing at the live majority, which must establish a leader and commit
those writes within ``converge_ms``. A replica that needs every member to answer passes every
full-heal run and fails these.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from dataclasses import dataclass, field, fields
from typing import Any, assert_never

from zablab.bugs import Layer, parse_bugs
from zablab.errors import UserError
from zablab.node.replica import (
    Action,
    Close,
    Deliver,
    Flush,
    ForwardedRequest,
    InstallSnapshot,
    NotLeader,
    NotServing,
    Replica,
    ReplicaConfig,
    RoleChange,
    Send,
    SetTimer,
    Synced,
    Touched,
    Trace,
    parse_protocol,
)
from zablab.node.replica.factory import make_replica, parse_election
from zablab.node.storage import SimDisk, Storage

from .app import SimApp
from .checks import LIVENESS, Lasting, RunOutcome, check_lasting, check_run, is_liveness
from .mystery import resolve
from .network import Network

# Event priorities at equal times: connection resets before anything else.
_NOW, _LATER = 0, 1

# How a run ends: everything healed, or a minority crashed / cut off for good.
LASTING_MODES = ("none", "crash-minority", "partition-minority")


@dataclass(frozen=True)
class SimConfig:
    """Knobs of one run; every field is a ``python -m zablab.sim`` option."""

    nodes: int = 3
    duration_ms: int = 3000  # active phase: workload and faults
    converge_ms: int = 6000  # after the heal
    tick_ms: int = 100
    init_limit: int = 10
    sync_limit: int = 5
    max_delay_ms: int = 8
    max_flush_ms: int = 12
    request_every_ms: int = 50  # mean gap between client writes
    fault_every_ms: int = 300  # mean gap between nemesis actions
    committed_log_size: int = 4  # small, so that SNAP syncs happen
    compact_chance: float = 0.05  # per delivering step
    protocol: str = "zab"  # the replicas' protocol (zablab/node/replica/config.py)
    election: str = "fle"  # the ZAB election scheme (zablab/node/zab/elections)
    bugs: tuple[str, ...] = ()
    lasting: str = "none"  # at the heal: a minority crashed / partitioned away for good
    zxid_counter_max: int = 0xFFFFFFFF  # a zxid's counter bits (lowered to reach a rollover)
    sync_every_ms: int = 0  # mean gap between client syncs, to the end of the run (0: none)

    def __post_init__(self) -> None:
        parse_protocol(self.protocol)
        parse_election(self.election)
        if self.election != "fle" and self.protocol != "zab":
            raise UserError(
                f"--election chooses the ZAB replica's election; {self.protocol} has its own "
                "(drop --election)."
            )
        if self.sync_every_ms < 0:
            raise UserError("--sync-every-ms wants a mean gap in ms, or 0 for no syncs.")
        if self.lasting not in LASTING_MODES:
            raise UserError(
                f"unknown lasting fault {self.lasting!r}; choose one of {', '.join(LASTING_MODES)}."
            )
        # a replica protocol's bugs are the registry's layer of the same name; a mystery
        # token stays a token here (a saved trace must not name its bugs)
        parse_bugs(resolve(self.bugs), [Layer(self.protocol)])

    def replica_config(self) -> ReplicaConfig:
        return ReplicaConfig(
            tick_ms=self.tick_ms,
            init_limit=self.init_limit,
            sync_limit=self.sync_limit,
            finalize_wait_ms=2 * self.max_delay_ms,
            max_notify_interval_ms=8 * self.tick_ms,
            committed_log_size=self.committed_log_size,
            election=self.election,
            bugs=frozenset(resolve(self.bugs)),
            zxid_counter_max=self.zxid_counter_max,
        )

    def replay_command(self, seed: int) -> str:
        parts = ["python -m zablab.sim", f"--seed {seed}"]
        default = SimConfig()
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "bugs":
                parts += [f"--bug {b}" for b in v]
            elif v != getattr(default, f.name):
                parts.append(f"--{f.name.replace('_', '-')} {v}")
        return " ".join(parts)


@dataclass
class Node:
    id: int
    disk: SimDisk
    replica: Replica | None = None
    app: SimApp = field(default_factory=SimApp)
    storage: Storage | None = None
    up: bool = False
    incarnation: int = 0
    timers: set[int] = field(default_factory=set)
    paused_until: int = 0  # SIGSTOP: its events wait until then
    clock_offset: int = 0  # its monotonic clock runs ahead of simulated time by this much
    deferred: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    role: tuple[str, int, int | None] = ("LOOKING", 0, None)


@dataclass
class SimResult:
    seed: int
    config: SimConfig
    trace: list[dict[str, Any]]
    violations: list[str]
    acked: list[bytes]
    final: dict[int, list[tuple[int, bytes]]]
    stats: dict[str, int]
    trace_hash: str

    log: list[tuple[int, str]] = field(default_factory=list)
    trace_at: list[int] = field(default_factory=list)

    def timeline(self, verbose: bool = False) -> list[str]:
        """Nemesis actions and the replicas' trace, by time (broadcast/deliver if verbose)."""
        quiet = {"broadcast", "deliver"}
        rows = [(t, 0, f"nemesis  {what}") for t, what in self.log]
        for e, at in zip(self.trace, self.trace_at, strict=True):
            if verbose or e["event"] not in quiet:
                rest = {k: v for k, v in e.items() if k not in ("node", "t", "event")}
                detail = " ".join(
                    f"{k}={v:#x}" if "zxid" in k or k in ("from", "to") else f"{k}={v}"
                    for k, v in rest.items()
                )
                rows.append((at, 1, f"node {e['node']}   {e['event']} {detail}".rstrip()))
        return [f"{t:>7} ms  {text}" for t, _, text in sorted(rows, key=lambda r: (r[0], r[1]))]

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def safety_violations(self) -> list[str]:
        """Violations other than a failure to make progress (liveness)."""
        return [v for v in self.violations if not is_liveness(v)]

    def summary(self) -> str:
        s = self.stats
        head = (
            f"seed {self.seed}: {'ok' if self.ok else 'VIOLATION'} "
            f"({s['acked']} acked writes, {s['delivered']} delivered at the end, "
            f"{s['crashes']} crashes, {s['partitions']} partitions, {s['elected']} leaders, "
            f"{s['events']} events, trace {self.trace_hash[:12]})"
        )
        if self.ok:
            return head
        lines = [head] + [f"  - {v}" for v in self.violations[:20]]
        lines.append(f"  rerun: {self.config.replay_command(self.seed)}")
        return "\n".join(lines)


class Simulation:
    def __init__(self, seed: int, config: SimConfig | None = None) -> None:
        self.seed = seed
        self.cfg = config or SimConfig()
        self.rcfg = self.cfg.replica_config()
        self.rng = random.Random(seed)
        self.ids = list(range(1, self.cfg.nodes + 1))
        self.net = Network(self.ids, self.rng, self.cfg.max_delay_ms)
        self.nodes = {i: Node(i, SimDisk(f"node{i}")) for i in self.ids}
        self.queue: list[tuple[int, int, int, str, tuple[Any, ...]]] = []
        self.seq = 0
        self.now = 0
        self.trace: list[dict[str, Any]] = []
        self.acked: dict[bytes, int] = {}
        self.origin: dict[bytes, int] = {}
        self.writes = 0
        self.synced: list[tuple[int, int, list[bytes]]] = []  # (node, token, state then)
        self.held: list[tuple[int, int, str, int, int, Any]] = []  # across a silent cut
        self.log: list[tuple[int, str]] = []  # what the nemesis did, for --log
        self.trace_at: list[int] = []  # simulator time of each trace event ("t" is the node's)
        self.stats = {"crashes": 0, "partitions": 0, "pauses": 0, "events": 0}
        self.active = True
        self.lasting_down: list[int] | None = None  # the minority down for good, once chosen
        # (payload, node, epoch it served in) of writes accepted after a lasting fault began
        self.late_writes: list[tuple[bytes, int, int]] = []
        # Client syncs (SimConfig.sync_every_ms): token -> (node, incarnation, role changes
        # of the node, time) while unanswered; what answered ones lacked; RoleChanges per node
        self.syncs = 0
        self.pending_syncs: dict[int, tuple[int, int, int, int]] = {}
        self.sync_bad: list[str] = []
        self.role_changes = dict.fromkeys(self.ids, 0)
        # The run as explicit choices (steps.py), kept when ``record`` is on: what replays it.
        self.record = False
        self.steps: list[dict[str, Any]] = []

    def rec(self, do: str, **args: Any) -> dict[str, Any]:
        """Note one choice the run made (after it took effect, so a replay may take it too)."""
        step = {"t": self.now, "do": do, **args}
        if self.record:
            self.steps.append(step)
        return step

    # -- event queue ---------------------------------------------------------------------

    def at(self, t: int, kind: str, *args: Any, prio: int = _LATER) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (t, prio, self.seq, kind, args))

    def run(self) -> SimResult:
        """The whole randomized run: active phase, heal, convergence, checks."""
        self.boot()
        self.at(self._gap(self.cfg.request_every_ms), "request")
        self.at(self._gap(self.cfg.fault_every_ms), "fault")
        if self.cfg.sync_every_ms:
            self.at(self._gap(self.cfg.sync_every_ms), "sync")
        self.at(self.cfg.duration_ms, "heal")
        self.run_until(self.cfg.duration_ms + self.cfg.converge_ms, stop_when_converged=True)
        return self.result()

    def boot(self) -> None:
        """Start every server (scripted scenarios call this, then ``run_until`` and faults)."""
        for n in self.ids:
            self.restart(n)

    def run_until(self, limit: int, *, stop_when_converged: bool = False) -> None:
        while self.queue and self.queue[0][0] <= limit:
            t, _, _, kind, args = heapq.heappop(self.queue)
            self.now = t
            self.stats["events"] += 1
            target = self._target(kind, args)
            if target is not None and self.nodes[target].paused_until > t:
                # A paused process handles nothing; its events wait, in order, for SIGCONT.
                node = self.nodes[target]
                if not node.deferred:
                    self.at(node.paused_until, "resume", target)
                node.deferred.append((kind, args))
                continue
            getattr(self, "_ev_" + kind)(*args)
            if stop_when_converged and kind == "tick" and not self.active and self.finished():
                return
        self.now = max(self.now, limit)

    def partition(self, groups: list[list[int]], *, silent: bool = False) -> None:
        """Cut the network into ``groups``. Connections across the cut reset at once, or with
        ``silent`` stay open while their messages wait for the heal (failure detectors must
        notice)."""
        self.stats["partitions"] += 1
        self.rec("partition", groups=groups, silent=silent)
        self.log.append((self.now, f"partition {groups} ({'silent' if silent else 'reset'})"))
        for a, b in self.net.partition(groups, silent=silent):
            self.at(self.now, "disconnect", a, b, prio=_NOW)
            self.at(self.now, "disconnect", b, a, prio=_NOW)
        self._release_held()

    def heal(self) -> None:
        self.rec("heal")
        self.log.append((self.now, "heal"))
        self.net.heal()
        self._release_held()

    def _release_held(self) -> None:
        waiting, self.held = self.held, []
        for a, b, ch, gen, inc, msg in waiting:
            if self.net.connected(a, b):
                t, _ = self.net.schedule(self.now, a, b, ch)
                self.at(t, "message", a, b, ch, gen, inc, msg)
            else:
                self.held.append((a, b, ch, gen, inc, msg))

    def leader(self) -> int | None:
        """The established leader, if exactly one server is one."""
        leaders = [
            n for n, x in self.nodes.items() if x.replica is not None and x.replica.is_leader
        ]
        return leaders[0] if len(leaders) == 1 else None

    @staticmethod
    def _target(kind: str, args: tuple[Any, ...]) -> int | None:
        if kind == "message":
            return int(args[1])
        if kind in ("tick", "timer", "flush", "disconnect", "propose"):
            return int(args[0])
        return None

    def _gap(self, mean: int) -> int:
        return self.now + self.rng.randint(1, 2 * mean)

    # -- nodes ---------------------------------------------------------------------------

    def restart(self, n: int) -> None:
        node = self.nodes[n]
        self.rec("restart", node=n)
        node.up = True
        node.incarnation += 1
        node.timers = set()
        node.app = SimApp()
        node.storage = Storage(node.disk)
        node.replica = make_replica(
            self.cfg.protocol, n, self.ids, self.rcfg, node.storage, node.app
        )
        self.apply(n, node.replica.start(self.clock(n)))
        self.at(self.now + self.rng.randint(1, self.cfg.tick_ms), "tick", n, node.incarnation)

    def crash(self, n: int) -> None:
        node = self.nodes[n]
        if not node.up:
            return
        self.stats["crashes"] += 1
        step = self.rec("crash", node=n)
        self.log.append((self.now, f"crash {n} ({node.disk.unsynced_bytes()} unsynced bytes)"))
        node.up = False
        node.incarnation += 1
        node.deferred.clear()
        node.paused_until = 0
        node.replica = None
        node.role = ("DOWN", 0, None)
        keep: list[int] = []
        step["keep"] = keep
        node.disk.crash(self.torn_tail(keep))
        for m in self.ids:
            if m != n:
                self.net.break_pair(n, m)
                self.at(self.now, "disconnect", m, n, prio=_NOW)
        if self.active:
            self.at(self.now + self.rng.randint(50, 1500), "revive", n)

    def clock_jump(self, n: int, ms: int) -> None:
        self.rec("clock", node=n, ms=ms)
        self.nodes[n].clock_offset += ms
        self.log.append((self.now, f"clock of {n} jumps {ms} ms ahead"))

    def clock(self, n: int) -> int:
        """Node ``n``'s own clock: only ever bumped forward, as a monotonic clock that jumps."""
        return self.now + self.nodes[n].clock_offset

    def alive(self, n: int, inc: int) -> Replica | None:
        node = self.nodes[n]
        return node.replica if node.up and node.incarnation == inc else None

    # -- actions -------------------------------------------------------------------------

    def apply(self, n: int, actions: list[Action]) -> None:
        node = self.nodes[n]
        delivered = False
        for a in actions:
            match a:
                case Send():
                    self.send(n, a.to, a.msg)
                case Trace():
                    self.trace.append(a.event)
                    self.trace_at.append(self.now)
                case Deliver():
                    node.app.apply(a.zxid, a.payload, a.pos)
                    delivered = True
                    if self.origin.get(a.payload) == n:
                        self.acked.setdefault(a.payload, self.now)
                case Flush():
                    self.at(
                        self.now + self.rng.randint(1, self.cfg.max_flush_ms),
                        "flush",
                        n,
                        node.incarnation,
                    )
                case SetTimer():
                    t = max(a.at - node.clock_offset, self.now)  # the replica speaks its own time
                    if t not in node.timers:
                        node.timers.add(t)
                        self.at(t, "timer", n, node.incarnation, t)
                case Close():
                    self.net.close_zab(n, a.peer)
                    self.at(self.now, "disconnect", a.peer, n, prio=_NOW)
                case InstallSnapshot():
                    node.app.install(a.zxid, a.data, a.pos)
                case RoleChange():
                    node.role = (a.role, a.epoch, a.leader)
                    self.role_changes[n] += 1
                case ForwardedRequest():
                    self.at(self.now, "propose", n, node.incarnation, a.request)
                case Synced():
                    state = [p for _, p in node.app.entries]
                    self.synced.append((n, a.token, state))
                    self.answered(n, a.token, state)
                case Touched():
                    pass  # the simulated clients keep no sessions
                case _:
                    assert_never(a)
        if delivered and node.replica is not None and self.compact_now():
            self.compact(n)

    def compact(self, n: int) -> None:
        r = self.nodes[n].replica
        if r is not None and self.nodes[n].up:
            self.rec("compact", node=n)
            self.apply(n, r.compact(self.clock(n)))

    def compact_now(self) -> bool:
        """Whether the replica that just delivered snapshots and trims its log now."""
        return self.rng.random() < self.cfg.compact_chance

    def torn_tail(self, keep: list[int]) -> random.Random:
        """What a crash draws the kept prefix of unsynced appends from; the draws are noted in
        ``keep`` so that the crash step replays them."""
        return _Noting(self.rng, keep)

    def send(self, a: int, b: int, msg: Any) -> None:
        sender = self.nodes[a].replica
        if sender is None or not (self.nodes[a].up and self.nodes[b].up):
            self.net.dropped += 1
            return
        ch = sender.channel_of(msg)
        if not self.net.connected(a, b):
            gen = self.net.link(a, b, ch).gen
            self.held.append((a, b, ch, gen, self.nodes[b].incarnation, msg))
            return
        t, gen = self.net.schedule(self.now, a, b, ch)
        self.at(t, "message", a, b, ch, gen, self.nodes[b].incarnation, msg)

    # -- events --------------------------------------------------------------------------

    def _ev_message(self, a: int, b: int, ch: str, gen: int, inc: int, msg: Any) -> None:
        r = self.alive(b, inc)
        if r is None or not self.net.current(a, b, ch, gen):
            return
        if self.record:  # the hot handlers skip even the call when nothing is noted
            self.rec("deliver", frm=a, to=b, ch=ch)
        self.apply(b, r.on_message(self.clock(b), a, msg))

    def _ev_disconnect(self, n: int, peer: int) -> None:
        r = self.nodes[n].replica
        if r is not None and self.nodes[n].up:
            if self.record:
                self.rec("disconnect", node=n, peer=peer)
            self.apply(n, r.on_disconnect(self.clock(n), peer))

    def _ev_tick(self, n: int, inc: int) -> None:
        r = self.alive(n, inc)
        if r is None:
            return
        if self.record:
            self.rec("tick", node=n)
        self.apply(n, r.on_tick(self.clock(n)))
        self.at(self.now + self.cfg.tick_ms, "tick", n, inc)

    def _ev_timer(self, n: int, inc: int, t: int) -> None:
        r = self.alive(n, inc)
        if r is None:
            return
        self.nodes[n].timers.discard(t)
        if self.record:
            self.rec("timer", node=n, at=t)
        self.apply(n, r.on_timer(self.clock(n)))

    def _ev_flush(self, n: int, inc: int) -> None:
        r = self.alive(n, inc)
        if r is None:
            return
        if self.record:
            self.rec("flush", node=n)
        self.nodes[n].storage.log.sync()  # type: ignore[union-attr]
        self.apply(n, r.on_flushed(self.clock(n)))

    def _ev_propose(self, n: int, inc: int, payload: bytes) -> None:
        r = self.alive(n, inc)
        if r is None:
            return
        self.rec("propose", node=n)
        try:
            self.apply(n, r.propose(self.clock(n), payload))
        except NotLeader:
            pass  # the client sees an error; the write never happened

    def _ev_request(self) -> None:
        if self.active:
            n = self.rng.choice(self.ids)
        elif self.lasting_down is not None:  # clients of the live majority go on writing
            n = self.rng.choice(self.live_side())
        else:
            return
        self.writes += 1
        if self.nodes[n].paused_until <= self.now:
            self.write(n, b"w%d@%d" % (self.writes, n))
        self.at(self._gap(self.cfg.request_every_ms), "request")

    def write(self, n: int, payload: bytes) -> None:
        """A client's write at server ``n`` (refused unless it serves)."""
        r = self.nodes[n].replica
        if r is None or not self.nodes[n].up:
            return
        self.rec("write", node=n, payload=payload.decode())
        try:
            actions = r.submit(self.clock(n), payload)
            self.origin[payload] = n
            if self.cfg.lasting != "none" and self.now >= self.cfg.duration_ms:
                self.late_writes.append((payload, n, self.nodes[n].role[1]))
            self.apply(n, actions)
        except NotServing:
            pass

    def _ev_sync(self) -> None:
        """A client's sync at a random server, during the whole run (after the heal too: a
        sync must be answered when no write follows it); while a minority is down for good,
        at the live majority."""
        if self.active or self.lasting_down is None:
            n = self.rng.choice(self.ids)
        else:
            live = self.live_side()
            n = self.rng.choice(live) if live else self.ids[0]
        if self.nodes[n].paused_until <= self.now:
            self.sync(n)
        self.at(self._gap(self.cfg.sync_every_ms), "sync")

    def sync(self, n: int) -> None:
        """A client's sync at server ``n`` (refused unless it serves)."""
        node = self.nodes[n]
        r = node.replica
        if r is None or not node.up:
            return
        self.rec("sync", node=n)
        self.syncs += 1
        token = self.syncs
        try:
            actions = r.sync(self.clock(n), token)
        except NotServing:
            return
        self.pending_syncs[token] = (n, node.incarnation, self.role_changes[n], self.now)
        self.apply(n, actions)

    def answered(self, n: int, token: int, state: list[bytes]) -> None:
        """A sync's answer: the server must hold every write acknowledged before the sync
        was issued (ZooKeeper's sync: the leader's committed history reaches this server)."""
        issued = self.pending_syncs.pop(token, None)
        if issued is None:
            return
        have = set(state)
        lacking = sorted(
            p.decode() for p, t in self.acked.items() if t < issued[3] and p not in have
        )
        if lacking:
            shown = ", ".join(lacking[:5]) + (" ..." if len(lacking) > 5 else "")
            self.sync_bad.append(
                f"stale sync: node {n} answered sync {token} (issued at {issued[3]} ms) "
                f"without {len(lacking)} write(s) acknowledged before it ({shown})"
            )

    def unanswered_syncs(self) -> list[str]:
        """Syncs still waiting at a server that has neither restarted nor changed its role
        since: nothing excuses those (a lost leader or a crash drops the client's request,
        as ZooKeeper closes its connection)."""
        out = []
        for token, (n, inc, changes, t) in sorted(self.pending_syncs.items()):
            node = self.nodes[n]
            if node.up and node.incarnation == inc and self.role_changes[n] == changes:
                out.append((token, n, t))
        return [
            f"{LIVENESS}: sync {token} at node {n} (issued at {t} ms, the node still "
            f"{self.nodes[n].role[0]}) never answered"
            for token, n, t in out
        ]

    def _ev_resume(self, n: int) -> None:
        node = self.nodes[n]
        if node.paused_until > self.now:  # the pause was extended
            self.at(node.paused_until, "resume", n)
            return
        waiting, node.deferred = node.deferred, []
        for kind, args in waiting:
            getattr(self, "_ev_" + kind)(*args)

    def _ev_revive(self, n: int) -> None:
        if self.active and not self.nodes[n].up:
            self.restart(n)

    def _ev_fault(self) -> None:
        if not self.active:
            return
        rng = self.rng
        kind = rng.choices(
            ["partition", "heal", "crash", "crash-quorum", "pause", "slow", "clock"],
            weights=[4, 3, 3, 1, 2, 2, 1],
        )[0]
        if kind == "partition" and len(self.ids) == 1:
            kind = "pause"  # nothing to cut
        if kind == "partition":
            order = self.ids[:]
            rng.shuffle(order)
            cut = rng.randint(1, len(order) - 1)
            self.partition([order[:cut], order[cut:]], silent=rng.random() < 0.5)
        elif kind == "heal":
            self.heal()
        elif kind == "crash":
            self.crash(rng.choice(self.ids))
        elif kind == "clock":
            victim = rng.choice(self.ids)
            self.clock_jump(victim, rng.randint(1, 2 * self.cfg.sync_limit) * self.cfg.tick_ms)
        elif kind == "slow":
            # A congested link: delays up to several ticks, still in order (heal clears it).
            victim = rng.choice(self.ids)
            self.net.slow[victim] = rng.randint(1, 4) * self.cfg.tick_ms
            self.log.append((self.now, f"slow links of {victim} (+{self.net.slow[victim]} ms)"))
        elif kind == "pause":
            node = self.nodes[rng.choice(self.ids)]
            until = self.now + rng.randint(1, 12) * self.cfg.tick_ms
            node.paused_until = max(node.paused_until, until)  # never cut a pause short
            self.log.append((self.now, f"pause {node.id} until {node.paused_until}"))
            self.stats["pauses"] += 1
        else:
            victims = rng.sample(self.ids, len(self.ids) // 2 + 1)
            for v in victims:
                self.crash(v)
        self.at(self._gap(self.cfg.fault_every_ms), "fault")

    def _ev_heal(self) -> None:
        self.active = False
        if self.cfg.lasting != "none":
            self.lasting_fault()
            return
        self.heal()  # pauses run out on their own: cutting one short would reorder its events
        for n in self.ids:
            if not self.nodes[n].up:
                self.restart(n)

    def lasting_fault(self) -> None:
        """Heal, then take a seeded minority down for good (a crash or a partition: steps like
        any other, so the run replays); the rest is restarted and keeps its clients."""
        k = len(self.ids)
        down = sorted(self.rng.sample(self.ids, self.rng.randint(1, (k - 1) // 2))) if k > 2 else []
        self.lasting_down = down
        live = [n for n in self.ids if n not in down]
        self.log.append((self.now, f"lasting fault: {self.cfg.lasting} {down}"))
        self.heal()
        crashing = self.cfg.lasting == "crash-minority"
        if crashing:
            for n in down:
                self.crash(n)  # not active: no revival
        elif down:
            self.partition([live, down], silent=self.rng.random() < 0.5)
        for n in live if crashing else self.ids:  # cut off for good, a node still runs
            if not self.nodes[n].up:
                self.restart(n)

    # -- the end ---------------------------------------------------------------------------

    def converged(self, among: list[int] | None = None) -> bool:
        """One leader among ``among`` (default: every node), all of them serving and caught
        up with it."""
        nodes = [self.nodes[n] for n in among] if among is not None else self.nodes.values()
        leaders = [n for n in nodes if n.replica is not None and n.replica.is_leader]
        if len(leaders) != 1:
            return False
        lead = leaders[0].replica
        assert lead is not None
        for node in nodes:
            r = node.replica
            if r is None or not r.serving or r.committed_zxid != lead.last_zxid:
                return False
        return True

    def finished(self) -> bool:
        """Whether the run's goal after the heal is reached (then it stops early)."""
        if self.cfg.sync_every_ms and self.unanswered_syncs():
            return False
        if self.cfg.lasting == "none":
            return self.converged()
        lasting = self.lasting()
        return (
            lasting.leader is not None
            and self.converged(lasting.live)
            and not check_lasting(lasting, {}, {n: self.nodes[n].app.entries for n in lasting.live})
        )

    def live_side(self) -> list[int]:
        """The nodes up and in the largest part of the network (lowest group on a tie): after
        a lasting fault, the majority that must make progress. Read off the state, so that a
        replay of the run's steps finds the same."""
        up = [n for n in self.ids if self.nodes[n].up]
        if not up:
            return []
        sizes: dict[int, int] = {}
        for n in up:
            sizes[self.net.group[n]] = sizes.get(self.net.group[n], 0) + 1
        g = min(sizes, key=lambda x: (-sizes[x], x))
        return [n for n in up if self.net.group[n] == g]

    def lasting(self) -> Lasting:
        live = self.live_side()
        leaders = [n for n in live if getattr(self.nodes[n].replica, "is_leader", False)]
        leader = leaders[0] if len(leaders) == 1 else None
        return Lasting(
            mode=self.cfg.lasting,
            bound_ms=self.cfg.converge_ms,
            live=live,
            down=[n for n in self.ids if n not in live],
            leader=leader,
            epoch=self.nodes[leader].role[1] if leader is not None else 0,
            writes=list(self.late_writes),
        )

    def outcome(self, final: dict[int, list[tuple[int, bytes]]]) -> RunOutcome:
        """What the checks need of this run, given the replicas' final states."""
        lasting = self.lasting() if self.cfg.lasting != "none" else None
        return RunOutcome(
            trace=self.trace,
            anomalies={n: node.app.anomalies for n, node in self.nodes.items()},
            converged=self.converged(lasting.live if lasting else None),
            roles={n: node.role for n, node in self.nodes.items()},
            final=final,
            acked=list(self.acked),
            lasting=lasting,
            syncs=tuple(self.sync_bad + self.unanswered_syncs()),
            monitors=tuple(
                (n, int(node.replica.monitor()["leader"]))
                for n, node in self.nodes.items()
                if node.up and node.replica is not None
            ),
        )

    def result(self) -> SimResult:
        final = {n: list(node.app.entries) for n, node in self.nodes.items()}
        violations = check_run(self.outcome(final))
        h = hashlib.sha256()
        for ev in self.trace:
            h.update(json.dumps(ev, sort_keys=True).encode() + b"\n")
        elected = sum(1 for e in self.trace if e["event"] == "elected")
        stats = dict(self.stats)
        stats.update(
            acked=len(self.acked),
            delivered=max((len(v) for v in final.values()), default=0),
            elected=elected,
            messages=self.net.sent,
        )
        return SimResult(
            self.seed,
            self.cfg,
            self.trace,
            violations,
            list(self.acked),
            final,
            stats,
            h.hexdigest(),
            list(self.log),
            list(self.trace_at),
        )


def simulate(seed: int, config: SimConfig | None = None) -> SimResult:
    return Simulation(seed, config).run()


class _Noting(random.Random):
    """The simulation's random source, noting each ``randint`` a disk crash draws."""

    def __init__(self, rng: random.Random, noted: list[int]) -> None:
        self._rng, self._noted = rng, noted

    def randint(self, a: int, b: int) -> int:
        v = self._rng.randint(a, b)
        self._noted.append(v)
        return v
