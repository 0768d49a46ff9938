"""The simulation driven by explicit choices: a replay of a trace file, or a search's state.

A random run (cluster.Simulation) picks its next event from a timed queue; a ``Stepper`` is told
each choice as a step (steps.py): deliver the oldest message on the link a -> b, fire a timer,
sync a log, crash, restart, partition, heal, a client write or sync. The replicas, the disks and the
event handlers are the Simulation's own, so a random run's recorded steps replay to the same
ZAB trace, byte for byte. What a timed queue holds becomes state here: one FIFO of messages per
link, the pending log syncs, forwarded requests and disconnect notices per node. A step whose
choice is not available (the link is empty, the node is down) does nothing, so any subsequence
of a trace is a run too: that is what shrinking and search rely on.
"""

from __future__ import annotations

import pickle
import random
from collections import deque
from typing import Any

from zablab.errors import UserError
from zablab.node.replica import epoch_of

from .checks import check_trace
from .cluster import SimConfig, SimResult, Simulation
from .network import Network

_NODE_STEPS = {
    "tick",
    "timer",
    "flush",
    "propose",
    "disconnect",
    "write",
    "sync",
    "crash",
    "restart",
    "compact",
    "clock",
}


class QueueNetwork(Network):
    """The links as FIFO queues of (message, held across a silent cut, step that sent it)."""

    def __init__(self, nodes: list[int], rng: random.Random, max_delay_ms: int) -> None:
        super().__init__(nodes, rng, max_delay_ms)
        self.queues: dict[tuple[int, int, str], deque[list[Any]]] = {}

    def queue(self, a: int, b: int, ch: str) -> deque[list[Any]]:
        q = self.queues.get((a, b, ch))
        if q is None:
            q = self.queues[(a, b, ch)] = deque()
        return q

    def break_pair(self, a: int, b: int) -> None:
        super().break_pair(a, b)
        for key in ((a, b, "election"), (b, a, "election"), (a, b, "zab"), (b, a, "zab")):
            self.queues.pop(key, None)

    def close_zab(self, a: int, b: int) -> None:
        super().close_zab(a, b)
        self.queues.pop((a, b, "zab"), None)
        self.queues.pop((b, a, "zab"), None)

    def head(self, a: int, b: int, ch: str) -> list[Any] | None:
        """The message a delivery on this link would hand over now, if any."""
        q = self.queues.get((a, b, ch))
        if not q:
            return None
        if q[0][1] and not self.connected(a, b):
            return None  # waiting for the heal, and everything behind it too (TCP)
        return q[0]


class Stepper(Simulation):
    def __init__(self, config: SimConfig | None = None) -> None:
        super().__init__(0, config)
        self.active = False  # no random nemesis, workload or revivals: steps say what happens
        self.record = True
        self.qnet = QueueNetwork(self.ids, self.rng, self.cfg.max_delay_ms)
        self.net = self.qnet
        self.flushes = {n: 0 for n in self.ids}
        self.proposals: dict[int, deque[bytes]] = {n: deque() for n in self.ids}
        self.notices: dict[int, list[int]] = {n: [] for n in self.ids}
        self.acked_zxid: dict[bytes, int] = {}
        self.keep: list[int] = []  # a crash step's torn-tail draws, while it runs
        # for the diagram: (sending step, delivering step, message kind); each trace event's step
        self.arrows: list[tuple[int, int, str]] = []
        self.trace_step: list[int] = []

    # -- what the timed queue did, as state ------------------------------------------------

    def at(self, t: int, kind: str, *args: Any, prio: int = 1) -> None:
        if kind == "flush":
            self.flushes[args[0]] += 1
        elif kind == "propose":
            self.proposals[args[0]].append(args[2])
        elif kind == "disconnect":
            self.notices[args[0]].append(args[1])
        # ticks, timers (node.timers), revivals, the workload and the nemesis are steps

    def send(self, a: int, b: int, msg: Any) -> None:
        sender = self.nodes[a].replica
        if sender is None or not (self.nodes[a].up and self.nodes[b].up):
            self.net.dropped += 1
            return
        self.net.sent += 1
        ch = sender.channel_of(msg)
        sent = len(self.steps) - 1  # the step taking effect now (it was noted first)
        self.qnet.queue(a, b, ch).append([msg, not self.net.connected(a, b), sent])

    def _release_held(self) -> None:
        for (a, b, _), q in self.qnet.queues.items():
            if self.net.connected(a, b):
                for entry in q:
                    entry[1] = False

    def compact_now(self) -> bool:
        return False  # compaction is its own step here

    def torn_tail(self, keep: list[int]) -> random.Random:
        return _Replaying(self.keep, keep)

    def restart(self, n: int) -> None:
        self.flushes[n] = 0
        self.proposals[n].clear()
        self.notices[n].clear()
        super().restart(n)

    def crash(self, n: int) -> None:
        self.flushes[n] = 0
        self.proposals[n].clear()
        self.notices[n].clear()
        super().crash(n)

    def apply(self, n: int, actions: list[Any]) -> None:
        before = len(self.acked)
        super().apply(n, actions)
        if len(self.acked) > before:
            for a in actions:
                if getattr(a, "payload", None) in self.acked:
                    self.acked_zxid.setdefault(a.payload, a.zxid)

    # -- steps -----------------------------------------------------------------------------

    def step(self, s: dict[str, Any]) -> bool:
        """Take one step; False if its choice was not available (then nothing happened)."""
        self.now = max(self.now, int(s.get("t", self.now)))
        before = len(self.steps)
        do = s["do"]
        if do == "deliver":
            a, b, ch = int(s["frm"]), int(s["to"]), str(s["ch"])
            entry = self.qnet.head(a, b, ch)
            if entry is not None:
                self.qnet.queues[(a, b, ch)].popleft()
                gen = self.net.link(a, b, ch).gen
                self._ev_message(a, b, ch, gen, self.nodes[b].incarnation, entry[0])
                if len(self.steps) > before:
                    self.arrows.append((entry[2], len(self.steps) - 1, type(entry[0]).__name__))
        elif do == "partition":
            self.partition([[int(n) for n in g] for g in s["groups"]], silent=bool(s["silent"]))
        elif do == "heal":
            self.heal()
        elif do in _NODE_STEPS:
            n = int(s["node"])
            if n not in self.nodes:
                raise ValueError(f"no node {n}")
            self._node_step(do, n, s)
        else:
            raise ValueError(f"unknown step {do!r}")
        self.stats["events"] += 1
        self.trace_step += [len(self.steps) - 1] * (len(self.trace) - len(self.trace_step))
        return len(self.steps) > before

    def _node_step(self, do: str, n: int, s: dict[str, Any]) -> None:
        node = self.nodes[n]
        inc = node.incarnation
        if do == "tick":
            self._ev_tick(n, inc)
        elif do == "timer":
            if s["at"] in node.timers:
                self._ev_timer(n, inc, int(s["at"]))
        elif do == "flush":
            if self.flushes[n] > 0 and node.up:
                self.flushes[n] -= 1
                self._ev_flush(n, inc)
        elif do == "propose":
            if self.proposals[n]:
                self._ev_propose(n, inc, self.proposals[n].popleft())
        elif do == "disconnect":
            if s["peer"] in self.notices[n]:
                self.notices[n].remove(s["peer"])
                self._ev_disconnect(n, int(s["peer"]))
        elif do == "write":
            self.write(n, str(s["payload"]).encode())
        elif do == "sync":
            self.sync(n)
        elif do == "crash":
            self.keep = [int(x) for x in s.get("keep", [])]
            self.crash(n)
        elif do == "restart":
            if not node.up:
                self.restart(n)
        elif do == "compact":
            self.compact(n)
        else:
            self.clock_jump(n, int(s["ms"]))

    def run_steps(self, steps: list[dict[str, Any]]) -> None:
        """Take every step; a malformed one (from a hand-edited file) is one UserError."""
        for i, s in enumerate(steps):
            try:
                self.step(s)
            except (KeyError, TypeError, ValueError, IndexError) as e:
                raise UserError(f"step {i} {s!r} is malformed ({e!r}).") from None

    # -- invariants at a state ----------------------------------------------------------------

    def lost_writes(self) -> list[str]:
        """An established leader must hold every write acknowledged in an earlier epoch."""
        bad = []
        for n, node in self.nodes.items():
            r = node.replica
            if r is None or not node.up or not r.is_leader:
                continue
            epoch = getattr(r, "current_epoch", 0)
            have = {p for _, p in node.app.entries} | set(getattr(r, "payloads", []))
            for payload, z in self.acked_zxid.items():
                if epoch_of(z) < epoch and payload not in have:
                    bad.append(
                        f"lost write: {payload.decode()} (zxid {z:#x}) was acknowledged but "
                        f"node {n}, established leader of epoch {epoch}, lacks it"
                    )
        return bad

    def safety(self) -> list[str]:
        """Every safety property at this state: ZAB's on the trace so far, the applications'
        own order checks, no acknowledged write lost."""
        bad = check_trace(self.trace)
        for n, node in self.nodes.items():
            bad += [f"node {n} app: {a}" for a in node.app.anomalies]
        return bad + self.lost_writes()

    def result(self, *, safety_only: bool = False) -> SimResult:
        r = super().result()
        if safety_only:
            r.violations = self.safety()
        return r

    def goal(self) -> bool:
        """Liveness's goal: some leader is established."""
        return any(
            x.replica is not None and x.up and x.replica.is_leader for x in self.nodes.values()
        )

    def state_key(self) -> bytes:
        """What decides this state's future: the replicas' protocol state, their disks and
        applications, the links, timers and pending work (not the trace or the step list)."""
        parts: list[Any] = [self.now, sorted(self.net.group.items())]
        for n in self.ids:
            node = self.nodes[n]
            r = node.replica
            proto = None
            if r is not None:
                skip = ("storage", "app", "cfg", "bugs", "members", "rules")
                proto = {k: v for k, v in vars(r).items() if k not in skip}
            disk = sorted((k, bytes(f.data), bytes(f.durable)) for k, f in node.disk._files.items())
            parts.append(
                (
                    node.up,
                    proto,
                    disk,
                    node.app.entries,
                    sorted(node.timers),
                    node.clock_offset,
                    self.flushes[n],
                    list(self.proposals[n]),
                    sorted(self.notices[n]),
                )
            )
        parts.append(
            sorted((k, [(e[0], e[1]) for e in q]) for k, q in self.qnet.queues.items() if q)
        )
        parts.append(sorted(self.acked_zxid.items()))
        return pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)


class _Replaying(random.Random):
    """A crash's torn-tail draws from its step (clamped: a shrunk run may have less unsynced);
    with none noted, the crash keeps nothing unsynced."""

    def __init__(self, draws: list[int], noted: list[int]) -> None:
        self._draws, self._noted = draws, noted

    def randint(self, a: int, b: int) -> int:
        v = min(max(self._draws.pop(0) if self._draws else a, a), b)
        self._noted.append(v)
        return v


def replay(
    config: SimConfig, steps: list[dict[str, Any]], *, safety_only: bool
) -> tuple[Stepper, SimResult]:
    st = Stepper(config)
    st.run_steps(steps)
    return st, st.result(safety_only=safety_only)
