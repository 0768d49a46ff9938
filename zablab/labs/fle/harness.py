"""Driving a student's election: alone (instant delivery between peers, a virtual clock) and
plugged into the ZAB replica in the simulator (the replica's election seam)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from zablab.node.zab.election import Vote
from zablab.node.zab.elections import SchemeFactory, make_election, plugged
from zablab.node.zab.messages import Notification
from zablab.sim import SimConfig, Simulation
from zablab.sim.checks import NO_CONVERGENCE

STUDENT_FILE = "election.py"
FINALIZE_MS = 10


def run_election(
    make: Callable[[int, list[int], Vote], Any],
    states: dict[int, tuple[int, int]],
    starts: dict[int, int] | None = None,
    limit_ms: int = 3000,
) -> dict[int, Vote]:
    """Peers {id: (epoch, zxid)} elect with instant delivery, each starting at ``starts[id]``
    (default 0), the clock moving 1 ms at a time; returns {id: decided vote}."""
    ids = sorted(states)
    starts = starts or {}
    els = {i: make(i, ids, Vote(i, states[i][1], states[i][0])) for i in ids}
    started: set[int] = set()
    decided: dict[int, Vote] = {}
    queue: list[tuple[int, int, Notification]] = []

    def deliver(now: int) -> None:
        while queue:
            frm, to, n = queue.pop(0)
            if to in decided or to not in started:
                continue
            sends, d = els[to].on_notification(now, frm, n)
            queue.extend((to, t, x) for t, x in sends)
            if d is not None:
                decided[to] = d

    for now in range(limit_ms):
        for i in ids:
            if i not in started and starts.get(i, 0) <= now:
                started.add(i)
                queue.extend((i, t, x) for t, x in els[i].start(now))
        deliver(now)
        for i in sorted(started - set(decided)):
            if els[i].next_deadline() <= now:
                sends, d = els[i].on_timer(now)
                queue.extend((i, t, x) for t, x in sends)
                if d is not None:
                    decided[i] = d
        deliver(now)
        if len(decided) == len(ids):
            break
    return decided


def by_name(name: str, finalize_ms: int = FINALIZE_MS) -> Callable[[int, list[int], Vote], Any]:
    """A maker for run_election of a registered scheme."""
    return lambda i, ids, v: make_election(
        name, i, ids, 1, v, finalize_wait_ms=finalize_ms, max_notify_interval_ms=100
    )


def by_class(cls: Any, finalize_ms: int = FINALIZE_MS) -> Callable[[int, list[int], Vote], Any]:
    return lambda i, ids, v: cls(
        i, ids, 1, v, finalize_wait_ms=finalize_ms, max_notify_interval_ms=100
    )


@contextmanager
def student_scheme(cls: type) -> Iterator[str]:
    """The student's class as the replica's election for the block, under a name of its own.
    It claims to elect the newest history (as FLE must), so discovery keeps its check."""
    wrapped = cast(SchemeFactory, type("StudentElection", (cls,), {"ELECTS_NEWEST": True}))
    with plugged("student", wrapped) as name:
        yield name


@dataclass
class Observed:
    """What an observed run found beyond the simulator's own checks."""

    violations: list[str] = field(default_factory=list)
    first_leader_ms: int | None = None


class ObservedSimulation(Simulation):
    """The simulator, watching each leader as it establishes: its history must be the newest
    of the quorum that acknowledged its epoch, and one leader per epoch."""

    def __init__(self, seed: int, config: SimConfig) -> None:
        super().__init__(seed, config)
        self.observed = Observed()
        self.leaders: dict[int, int] = {}  # epoch -> the server that established it

    def apply(self, n: int, actions: list[Any]) -> None:
        super().apply(n, actions)
        for a in actions:
            event = getattr(a, "event", None)
            if isinstance(event, dict) and event.get("event") == "elected":
                self._check_leader(n, int(event["epoch"]))

    def _check_leader(self, n: int, epoch: int) -> None:
        obs = self.observed
        if obs.first_leader_ms is None:
            obs.first_leader_ms = self.now
        other = self.leaders.setdefault(epoch, n)
        if other != n:
            obs.violations.append(f"two leaders established in epoch {epoch}: {other} and {n}")
        lead = getattr(self.nodes[n].replica, "lead", None)
        if lead is None:
            return
        quorum = len(self.ids) // 2 + 1
        if len(lead.epoch_acks) < quorum:
            obs.violations.append(f"leader {n} of epoch {epoch} has no quorum behind its epoch")
        for p in sorted(lead.epoch_acks - {n}):
            ln = lead.learners.get(p)
            if ln is not None and (ln.current_epoch, ln.last_zxid) > lead.summary:
                obs.violations.append(
                    f"leader {n} of epoch {epoch} holds (epoch {lead.summary[0]}, zxid "
                    f"{lead.summary[1]:#x}) but server {p} of its quorum holds (epoch "
                    f"{ln.current_epoch}, zxid {ln.last_zxid:#x}): not the newest history"
                )


def observe(seed: int, config: SimConfig, leader_bound_ms: int) -> tuple[list[str], str]:
    """Violations of one observed run (the simulator's checks, the leader's history, one
    leader per epoch, a first leader within ``leader_bound_ms``) and its summary line."""
    sim = ObservedSimulation(seed, config)
    r = sim.run()
    bad = list(r.violations) + sim.observed.violations
    first = sim.observed.first_leader_ms
    if first is None or first > leader_bound_ms:
        bad.append(f"no leader within {leader_bound_ms} ms (first at {first})")
    return bad, r.summary().splitlines()[0]


__all__ = [
    "NO_CONVERGENCE",
    "STUDENT_FILE",
    "ObservedSimulation",
    "by_class",
    "by_name",
    "observe",
    "run_election",
    "student_scheme",
]
