"""Search tests: explore the schedules of a small cluster instead of sampling random ones.

From the boot state, the choices at a state are: deliver the oldest message of a link, fire a
node's timer, land a node's log sync, crash a node (at most ``max_crashes``), restart a crashed
one (at most ``max_restarts``), a client write at an established leader (at most
``max_writes``), cutting one node off from the rest (at most ``max_partitions``, none by
default; connections reset) and healing a cut, and, if asked, a node's tick. Time moves only when a timer or tick fires, so
two orders of independent deliveries reach the same state, and state hashing (``state_key``)
prunes the repeat. Notices of broken connections and the leader's own forwarded proposals are
taken at once, as the step that caused them (they are local to the node, not choices of the
network). At every new state the safety properties are checked (stepper.Stepper.safety: the ZAB
checker's properties on the trace so far, at most one established leader per epoch among them,
no acknowledged write lost); liveness is the goal "some leader is established" being reached.

``bfs`` explores every state within ``max_depth`` steps, breadth first (a state is replayed
from the boot along its path: replicas hold storage handles that cannot be copied, and a replay
of a few dozen steps costs well under a millisecond). Both start from the boot, or from the state a
saved trace's steps reach (``start``: explore around a prefix, e.g. a leader with a write in
flight). ``dfs`` runs random depth-first walks
to the depth bound, each with its own fault points (fault_points), half of them from the boot
and half going on from a state where an earlier walk had just taken a write or a fault (so a
walk that got somewhere rare is extended rather than redone); repeats are counted and checked
once.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .cluster import SimConfig
from .stepper import Stepper

Steps = list[dict[str, Any]]

# How often a random walk takes each kind of choice: the network's work first, faults seldom,
# so that walks get past an election before they crash something.
_WEIGHT = {
    "deliver": 8,
    "flush": 4,
    "timer": 3,
    "tick": 1,
    "write": 4,
    "crash": 1,
    "restart": 2,
    "partition": 1,
    "heal": 1,
}


@dataclass(frozen=True)
class Bounds:
    max_depth: int = 40
    max_crashes: int = 3
    max_restarts: int = 1
    max_writes: int = 2
    max_partitions: int = 0  # cuts of one node from the rest (a bug that needs a live node
    # cut off, not crashed: its in-memory state must outlive the cut)
    ticks: bool = False
    time_limit: float = 60.0
    max_states: int = 1_000_000


@dataclass
class SearchResult:
    strategy: str
    states: int = 0
    seconds: float = 0.0
    pruned: int = 0
    violations: list[str] = field(default_factory=list)
    steps: Steps = field(default_factory=list)  # the path to the violating state
    goal_reached: bool = False
    exhausted: bool = False  # every state within the bounds was explored (bfs only)
    stopped: str = ""  # why the search stopped early: "time limit", "state limit"
    max_depth_seen: int = 0

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """1 a violation; 0 none, the goal reached and (bfs) the bounded space exhausted;
        2 unknown: the goal never reached, or bfs stopped by a limit first."""
        if self.violations:
            return 1
        if not self.goal_reached:
            return 2
        if self.strategy == "bfs" and not self.exhausted:
            return 2
        return 0

    def summary(self) -> str:
        verdict = {0: "no violation", 1: "VIOLATION", 2: "unknown"}[self.exit_code]
        bits = [
            f"search {self.strategy}: {verdict}; {self.states} states explored in "
            f"{self.seconds:.1f} s ({self.rate:.0f} states/s), {self.pruned} repeats pruned, "
            f"depth {self.max_depth_seen}",
            f"goal (a leader established) {'reached' if self.goal_reached else 'NOT reached'}",
        ]
        if self.exhausted:
            bits.append("every state within the bounds explored")
        if self.stopped:
            bits.append(f"stopped: {self.stopped}")
        return "; ".join(bits)


class Explorer:
    def __init__(
        self,
        cfg: SimConfig,
        bounds: Bounds,
        start: Steps | None = None,
        only: tuple[str, ...] | None = None,
    ) -> None:
        self.cfg, self.b = cfg, bounds
        # the violations that count, by their property prefix ("agreement:"); None: all. Paxos
        # breaks primary order by design, and a search stopped there explores nothing further
        self.only = only
        self.seen: set[bytes] = set()
        self.start = start  # explore from the state these steps reach, not from the boot
        self.base = 0  # steps of the root state; bounds count what comes after

    stepper: type[Stepper] = Stepper  # a lab's subclass checks its own properties at each state

    # -- one state ---------------------------------------------------------------------------

    def boot(self) -> Stepper:
        st = self.stepper(self.cfg)
        if self.start is not None:
            st.run_steps(self.start)
        else:
            for n in st.ids:
                st.step({"t": 0, "do": "restart", "node": n})
        self.settle(st)
        self.base = len(st.steps)
        return st

    def settle(self, st: Stepper) -> None:
        """Take the local consequences of the last step: disconnect notices, the leader's own
        forwarded proposals."""
        busy = True
        while busy:
            busy = False
            for n in st.ids:
                if st.notices[n]:
                    st.step({"t": st.now, "do": "disconnect", "node": n, "peer": st.notices[n][0]})
                    busy = True
                if st.proposals[n]:
                    st.step({"t": st.now, "do": "propose", "node": n})
                    busy = True

    def choices(self, st: Stepper) -> Steps:
        out: Steps = []
        now = st.now
        for (a, b, ch), q in sorted(st.qnet.queues.items()):
            if q and st.nodes[b].up and st.qnet.head(a, b, ch) is not None:
                out.append({"t": now, "do": "deliver", "frm": a, "to": b, "ch": ch})
        done = st.steps[self.base :]
        crashes = sum(1 for s in done if s["do"] == "crash")
        restarts = sum(1 for s in done if s["do"] == "restart")
        writes = sum(1 for s in done if s["do"] == "write")
        cuts = sum(1 for s in done if s["do"] == "partition")
        if len(set(st.net.group.values())) > 1:
            out.append({"t": now, "do": "heal"})
        elif cuts < self.b.max_partitions:
            for n in st.ids:
                rest = [m for m in st.ids if m != n]
                out.append({"t": now, "do": "partition", "groups": [[n], rest], "silent": False})
        for n in st.ids:
            node = st.nodes[n]
            if not node.up:
                if restarts < self.b.max_restarts:
                    out.append({"t": now, "do": "restart", "node": n})
                continue
            if node.timers:
                at = min(node.timers)
                out.append({"t": max(now, at), "do": "timer", "node": n, "at": at})
            if st.flushes[n]:
                out.append({"t": now, "do": "flush", "node": n})
            if self.b.ticks:
                out.append({"t": now + self.cfg.tick_ms, "do": "tick", "node": n})
            r = node.replica
            if writes < self.b.max_writes and r is not None and r.is_leader:
                out.append({"t": now, "do": "write", "node": n, "payload": f"s{writes + 1}@{n}"})
            if crashes < self.b.max_crashes:
                out.append({"t": now, "do": "crash", "node": n})
        return out

    def visit(self, st: Stepper, res: SearchResult, check: bool) -> bool:
        """Count a state; False if it was explored before. Checks it when ``check``."""
        key = st.state_key()
        if key in self.seen:
            res.pruned += 1
            return False
        self.seen.add(key)
        res.states += 1
        res.max_depth_seen = max(res.max_depth_seen, len(st.steps) - self.base)
        if not res.goal_reached and st.goal():
            res.goal_reached = True
        if check:
            bad = st.safety()
            if self.only is not None:
                bad = [v for v in bad if v.startswith(self.only)]
            if bad:
                res.violations, res.steps = bad, list(st.steps)
        return True

    def replay(self, path: Steps) -> Stepper:
        st = self.stepper(self.cfg)
        st.run_steps(path)
        return st

    def take(self, st: Stepper, choice: dict[str, Any]) -> bool:
        """Take ``choice`` and its local consequences; True if the trace or the acked writes
        grew (only then can a safety property newly fail)."""
        trace, acked = len(st.trace), len(st.acked)
        st.step(choice)
        self.settle(st)
        return len(st.trace) != trace or len(st.acked) != acked

    # -- strategies ----------------------------------------------------------------------

    def bfs(self) -> SearchResult:
        res = SearchResult("bfs")
        start = time.perf_counter()
        root = self.boot()
        self.visit(root, res, True)
        frontier: deque[Steps] = deque([list(root.steps)])
        depth = self.b.max_depth + len(root.steps)
        while frontier and not res.violations:
            path = frontier.popleft()
            parent = self.replay(path)
            if len(parent.steps) >= depth:
                continue
            for choice in self.choices(parent):
                if self._stop(res, start):
                    res.seconds = time.perf_counter() - start
                    return res
                st = self.replay(path)
                grew = self.take(st, choice)
                if self.visit(st, res, grew):
                    if res.violations:
                        break
                    frontier.append(list(st.steps))
        res.exhausted = not frontier and not res.violations
        res.seconds = time.perf_counter() - start
        return res

    def dfs(self, seed: int = 0) -> SearchResult:
        res = SearchResult("dfs")
        rng = random.Random(seed)
        start = time.perf_counter()
        root = self.boot()
        self.visit(root, res, True)
        boot = len(root.steps)
        milestones: list[Steps] = []  # paths just after a write or a fault, sampled
        while not res.violations and not self._stop(res, start):
            st = self.boot()
            if milestones and rng.random() < 0.5:
                # go on from where an earlier walk took a write or a fault, with new faults
                st.run_steps(rng.choice(milestones)[boot:])
                after_write = False
            else:
                # half the walks count the fault offsets from their first write
                after_write = self.b.max_writes > 0 and rng.random() < 0.5
            faults = self.fault_points(rng)
            origin: int | None = None if after_write else len(st.steps)
            while len(st.steps) - boot < self.b.max_depth:
                options = self.choices(st)
                if origin is None and any(s["do"] == "write" for s in st.steps):
                    origin = len(st.steps)
                pick: Steps = []
                now = len(st.steps) - origin if origin is not None else -1
                for j, (at, kind) in enumerate(faults):
                    # the first due fault that can be taken (a restart waits for a crash)
                    pick = [c for c in options if c["do"] == kind] if at <= now else []
                    if pick:
                        del faults[j]
                        break
                if not pick:
                    pick = [c for c in options if c["do"] not in ("crash", "restart")]
                if not pick:
                    break
                weights = [_WEIGHT[c["do"]] for c in pick]
                choice = rng.choices(pick, weights)[0]
                grew = self.take(st, choice)
                if self.visit(st, res, grew) and choice["do"] in ("write", "crash", "restart"):
                    if len(milestones) < 4096:
                        milestones.append(list(st.steps))
                    else:
                        milestones[rng.randrange(len(milestones))] = list(st.steps)
                if res.violations or self._stop(res, start):
                    break
        res.seconds = time.perf_counter() - start
        return res

    def fault_points(self, rng: random.Random) -> list[tuple[int, str]]:
        """When this walk crashes and restarts: the faults in a random order, each a random gap
        after the one before, the gap drawn uniformly at a random scale (a few steps, a dozen,
        a walk). So faults are placed as PCT places priority changes, not left to a per-step
        coin that would rarely land one in a short window, and a short window after a write
        (before its replication) is hit as often as a long one (a restart after a new
        election)."""
        kinds = ["crash"] * rng.randint(0, self.b.max_crashes)
        kinds += ["restart"] * rng.randint(0, self.b.max_restarts)
        rng.shuffle(kinds)
        out, at = [], 0
        for kind in kinds:
            at += rng.randint(1, rng.choice((4, 16, self.b.max_depth)))
            out.append((at, kind))
        return out

    def _stop(self, res: SearchResult, start: float) -> bool:
        if time.perf_counter() - start > self.b.time_limit:
            res.stopped = f"time limit {self.b.time_limit:g} s"
            return True
        if res.states >= self.b.max_states:
            res.stopped = f"state limit {self.b.max_states}"
            return True
        return False


def search(
    cfg: SimConfig,
    strategy: str,
    bounds: Bounds,
    seed: int = 0,
    start: Steps | None = None,
    only: tuple[str, ...] | None = None,
) -> SearchResult:
    ex = Explorer(cfg, bounds, start, only)
    if strategy == "bfs":
        return ex.bfs()
    if strategy == "dfs":
        return ex.dfs(seed)
    raise ValueError(strategy)
