"""Fault injection on a schedule, recorded in the history as process "nemesis".

Every fault knows how to undo itself; `heal_all` undoes everything (partitions, loss, pauses,
kills, clock skew) whatever state the run was interrupted in, so the runner calls it from a
finally block and on SIGINT.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from zablab.errors import UserError
from zablab.harness.backends.base import Node
from zablab.harness.db.base import DB
from zablab.harness.faults import grudges
from zablab.harness.recorder import Recorder
from zablab.node.crashpoint import marker_path

log = logging.getLogger("zablab.nemesis")

FAULTS = (
    "partition",
    *(f"partition-{s}" for s in grudges.SHAPES),
    "loss",
    "delay",
    "kill",
    "lose-unfsynced",
    "crash-point",  # a lagging follower's resync, and a power cut when it stops at NEWLEADER
    "pause",
    "clock",
)


def parse_nemesis(spec: str) -> list[str]:
    if spec.strip() in ("", "none"):
        return []
    kinds = [k.strip() for k in spec.split(",") if k.strip()]
    bad = [k for k in kinds if k not in FAULTS]
    if bad:
        raise UserError(
            f"unknown --nemesis {', '.join(bad)}; choose from: none, {', '.join(FAULTS)}."
        )
    return kinds


class Nemesis:
    """Alternates: wait an interval, start a random enabled fault, wait, stop it."""

    def __init__(
        self,
        kinds: list[str],
        backend: Any,
        db: DB,
        nodes: list[Node],
        recorder: Recorder,
        rng: random.Random,
        interval: float,
    ):
        self.kinds = kinds
        self.backend = backend
        self.db = db
        self.nodes = nodes
        self.by_name = {n.name: n for n in nodes}
        self.rec = recorder
        self.rng = rng
        self.interval = interval
        self.killed: set[str] = set()
        self.paused: set[str] = set()
        self.partitioned = False
        self.lossy = False
        self.skewed = False
        self._fired: set[str] = set()  # nodes whose crash point was answered
        self._lagging_leader: str | None = None  # the leader to kill as the paused node resumes
        self.current: str | None = None  # the fault in force, for the progress display
        self._mu = threading.RLock()

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def _leader(self) -> str | None:
        ps = self.db.primaries(self.nodes)
        return ps[0] if ps else None

    def _targets(self) -> list[str]:
        """One node, the leader, or a minority, as Jepsen's node specs."""
        r = self.rng.random()
        if r < 0.4:
            return [self.rng.choice(self.names)]
        if r < 0.7:
            lead = self._leader()
            return [lead] if lead else [self.rng.choice(self.names)]
        k = max(1, (len(self.nodes) - 1) // 2)
        return sorted(self.rng.sample(self.names, k))

    def _crash_targets(self) -> list[str]:
        """A majority or every node, the leader among them: losing unsynced writes on a
        minority cannot lose an acknowledged write even with a bug, the rest still hold it."""
        if self.rng.random() < 0.5:
            return list(self.names)
        k = len(self.nodes) // 2 + 1
        lead = self._leader()
        rest = [n for n in self.names if n != lead]
        picked = ([lead] if lead else []) + self.rng.sample(rest, k - (1 if lead else 0))
        return sorted(picked)

    def _op(self, f: str, act: Callable[[], Any]) -> Any:
        self.rec.record("invoke", "nemesis", f)
        try:
            value = act()
        except Exception as exc:  # a fault that fails to apply is recorded, not fatal
            log.warning("nemesis %s failed: %s", f, exc)
            self.rec.record("info", "nemesis", f, None, error=str(exc))
            return None
        self.rec.record("info", "nemesis", f, value)
        log.info("nemesis %s: %s", f, value)
        if f.startswith("start-") or f in ("kill", "pause", "lose-unfsynced"):
            if not f.startswith("start-partition"):
                self.current = f"{f.removeprefix('start-')} {_brief(value)}"
        else:
            self.current = None
        return value

    # -- faults ------------------------------------------------------------------------------

    def start(self, kind: str) -> str:
        """Start a fault of `kind`; returns the stop op name."""
        with self._mu:
            if kind.startswith("partition"):
                shape = kind.split("-", 1)[1] if "-" in kind else self.rng.choice(grudges.SHAPES)

                def part() -> Any:
                    g = grudges.build(shape, self.names, self.rng, leader=self._leader())
                    self.backend.net().partition(g)
                    self.partitioned = True
                    self.current = f"partition {shape}: {grudges.summary(g, self.names)}"
                    return {
                        "shape": shape,
                        "grudge": grudges.describe(g),
                        "sides": grudges.sides(g, self.names),
                        "quorum": grudges.has_quorum(g, self.names),
                    }

                self._op("start-partition", part)
                return "partition"
            if kind == "loss":

                def loss() -> Any:
                    nodes = self._targets()
                    p = self.rng.choice([0.1, 0.2, 0.4])
                    self.backend.net().loss(nodes, p)
                    self.lossy = True
                    return {"nodes": nodes, "probability": p}

                self._op("start-loss", loss)
                return "loss"
            if kind == "delay":

                def delay() -> Any:
                    nodes = self._targets()
                    ms = self.rng.choice([50, 100, 250])
                    self.backend.net().delay(nodes, ms)
                    self.lossy = True
                    return {"nodes": nodes, "ms": ms}

                self._op("start-delay", delay)
                return "delay"
            if kind == "kill":

                def kill() -> Any:
                    ts = self._targets()
                    for t in ts:
                        self.db.kill(self.by_name[t])
                        self.killed.add(t)
                    return ts

                self._op("kill", kill)
                return "kill"
            if kind == "lose-unfsynced":

                def lose() -> Any:
                    # every target dies before any disk is dropped: one power cut, not a
                    # series of crashes in which the later victims get time to sync
                    ts = self._crash_targets()
                    with cf.ThreadPoolExecutor(max_workers=len(ts)) as pool:
                        list(pool.map(lambda t: self.db.kill(self.by_name[t]), ts))
                    self.killed.update(ts)
                    lost = {t: self.db.lose_unfsynced(self.by_name[t]) for t in ts}
                    return {"nodes": ts, "lost": lost}

                self._op("lose-unfsynced", lose)
                return "kill"
            if kind == "pause":

                def pause() -> Any:
                    ts = self._targets()
                    for t in ts:
                        self.db.pause(self.by_name[t])
                        self.paused.add(t)
                    return ts

                self._op("pause", pause)
                return "pause"
            if kind == "crash-point":
                # the way to a crash point: a follower falls behind (paused) while the others
                # commit; then the leader dies as it comes back, so the next leader syncs it by
                # DIFF into a new epoch (stop() does that half)
                if self.killed:
                    self._op("restart", self._restart)
                lead = self._leader()

                def lag() -> Any:
                    ts = [self.rng.choice([n for n in self.names if n != lead])] if lead else []
                    for t in ts:
                        self.db.pause(self.by_name[t])
                        self.paused.add(t)
                    return ts

                self._op("pause", lag)
                self._lagging_leader = lead
                return "crash-point"
            if kind == "clock":

                def clock() -> Any:
                    ts = self._targets()
                    c = self.backend.clock()
                    self.skewed = True
                    if self.rng.random() < 0.5:
                        delta = self.rng.choice([-1, 1]) * self.rng.randint(100, 30_000)
                        for t in ts:
                            c.bump(t, delta)
                        return {"bump_ms": delta, "nodes": ts}
                    delta, period = self.rng.randint(100, 2000), self.rng.choice([10, 100, 500])
                    for t in ts:
                        c.strobe(t, delta, period, self.interval)
                    return {"strobe_ms": delta, "period_ms": period, "nodes": ts}

                self._op("start-clock", clock)
                return "clock"
        raise ValueError(kind)

    def stop(self, what: str) -> None:
        with self._mu:
            if what in ("partition", "loss", "delay"):
                self._op(f"stop-{what}", self._heal_net)
            elif what == "kill":
                self._op("restart", self._restart)
            elif what == "pause":
                self._op("resume", self._resume)
            elif what == "crash-point":
                lead, self._lagging_leader = self._lagging_leader, None
                if lead is not None and self.paused:

                    def kill_leader() -> Any:
                        self.db.kill(self.by_name[lead])
                        self.killed.add(lead)
                        return [lead]

                    self._op("kill", kill_leader)
                self._op("resume", self._resume)  # the leader stays down until the next round
            elif what == "clock":
                self._op("stop-clock", self._reset_clock)

    def _heal_net(self) -> Any:
        self.backend.net().heal()
        self.partitioned = self.lossy = False
        return "healed"

    def _restart(self) -> Any:
        ts = sorted(self.killed)
        for t in ts:
            self.db.start(self.by_name[t])
        self.killed.clear()
        return ts

    def _resume(self) -> Any:
        ts = sorted(self.paused)
        for t in ts:
            self.db.resume(self.by_name[t])
        self.paused.clear()
        return ts

    def _reset_clock(self) -> Any:
        self.backend.clock().reset()
        self.skewed = False
        return "reset"

    # -- schedule ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """The nemesis thread: until `stop`, fault for an interval, then heal for an interval
        (with crash-point on, each wait also watches for a node stopped at its crash point)."""
        if not self.kinds:
            return
        order: list[str] = []
        while not self._wait(stop, self.interval):
            if not order:  # every enabled fault once per round, in a seeded order
                order = list(self.kinds)
                self.rng.shuffle(order)
            what = self.start(order.pop())
            self._wait(stop, self.interval)
            self.stop(what)

    def _wait(self, stop: threading.Event, seconds: float) -> bool:
        """``stop.wait(seconds)``, but with crash-point on, a node found stopped at its crash
        point is answered at once (``_power_cut``)."""
        if "crash-point" not in self.kinds:
            return stop.wait(seconds)
        end = time.monotonic() + seconds
        while not stop.wait(min(0.02, max(0.0, end - time.monotonic()))):
            for marker in self._stopped_at_crash_point():
                if self._power_cut(marker, stop):
                    return True
            if time.monotonic() >= end:
                return False
        return True

    def _stopped_at_crash_point(self) -> list[dict[str, Any]]:
        """The markers of nodes newly stopped at their crash point (each fires once a run)."""
        trace_path = getattr(self.db, "trace_path", None)
        if trace_path is None:
            return []
        out = []
        for n in self.nodes:
            path = marker_path(trace_path(n))
            if n.name in self._fired or not os.path.exists(path):
                continue
            self._fired.add(n.name)
            try:
                with open(path, encoding="utf-8") as fh:
                    out.append({**json.load(fh), "node": n.name})
            except (OSError, ValueError):  # caught mid-write: the node is not stopped yet
                self._fired.discard(n.name)
        return out

    def _power_cut(self, marker: dict[str, Any], stop: threading.Event) -> bool:
        """A follower stopped at NEWLEADER of a new epoch: every node dies (the stopped one
        first, without the SIGCONT a kill sends) before any disk loses what it had not synced;
        then all but the leader of that sync restart, and the leader an interval later. That
        is the sync-phase bugs' schedule: the followers elect among themselves whoever's
        currentEpoch is newest, short log or not. Returns whether ``stop`` came meanwhile."""
        leader = next((n.name for n in self.nodes if n.id == marker.get("leader")), None)
        with self._mu:

            def cut() -> Any:
                stopped = self.by_name[marker["node"]]
                pid = stopped.meta.get("pid")
                if isinstance(pid, int):
                    stopped.remote.signal(pid, "KILL")
                with cf.ThreadPoolExecutor(max_workers=len(self.names)) as pool:
                    list(pool.map(lambda t: self.db.kill(self.by_name[t]), self.names))
                self.killed.update(self.names)
                lost = {t: self.db.lose_unfsynced(self.by_name[t]) for t in self.names}
                return {"crash-point": marker, "nodes": list(self.names), "lost": lost}

            self._op("lose-unfsynced", cut)
            if leader is not None:
                self.killed.discard(leader)
            self._op("restart", self._restart)
            if leader is not None:
                self.killed.add(leader)
        if stop.wait(self.interval):
            return True
        with self._mu:
            self._op("restart", self._restart)
        return False

    def heal_all(self) -> list[str]:
        """Undo every fault that may be in force; each step is attempted even if one fails.
        Returns the steps that had something to undo."""
        with self._mu:
            steps: list[tuple[str, Callable[[], Any]]] = []
            if self.partitioned or self.lossy:
                steps.append(("stop-partition", self._heal_net))
            if self.paused:
                steps.append(("resume", self._resume))
            if self.skewed:
                steps.append(("stop-clock", self._reset_clock))
            if self.killed:
                steps.append(("restart", self._restart))
            for f, act in steps:
                self._op(f, act)
            # belt and braces: heal the network and resume every node even if nothing is known
            with contextlib.suppress(Exception):
                if self.kinds and any(
                    k.startswith("partition") or k in ("loss", "delay") for k in self.kinds
                ):
                    self.backend.net().heal()
            for n in self.nodes:
                with contextlib.suppress(Exception):
                    self.db.resume(n)
            return [f for f, _ in steps]


def _brief(value: Any) -> str:
    """A fault's value as a few words: `n1 n3`, `n2 p=0.2`."""
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, dict):
        nodes = value.get("nodes", [])
        rest = [f"{k}={v}" for k, v in value.items() if k != "nodes"]
        return " ".join([*map(str, nodes), *rest])
    return "" if value is None else str(value)
