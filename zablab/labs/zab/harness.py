"""Driving a student's rules: checked adapters around them, plugged into the ZAB replica for
random runs and searches, and a director that steps the simulator through a chosen schedule.

The adapters check what the student's functions return (a wrong type or a zxid the leader
never had is one clear AssertionError, not a crash deep in the replica). A ``Director`` takes
the network's and the nodes' own steps in a fixed order (deliveries, log syncs, then timers and
ticks by time), except those a scenario holds back, so a scenario says only what it does to
the cluster (cut a link, crash a node before its log sync lands) and waits for a condition.
Safety holds under every schedule, so a correct solution passes any scenario; each one is
built so that one wrong rule loses an acknowledged write in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from zablab.node.zab.replica import ZabReplica
from zablab.node.zab.rules import (
    FollowerLog,
    FollowerStep,
    LeaderLog,
    RuleSet,
    SyncMode,
    SyncPlan,
    plugged,
)
from zablab.sim import SimConfig
from zablab.sim.checks import check_run
from zablab.sim.diagram import render_html
from zablab.sim.search import Bounds, Explorer
from zablab.sim.stepper import Stepper

STUDENT_FILE = "rules.py"
FUNCTIONS = ("choose_sync", "follower_step", "commit_point")


def student_rules(mod: ModuleType) -> RuleSet:
    """The student's three functions, each behind a check of what it returns."""
    for name in FUNCTIONS:
        assert callable(getattr(mod, name, None)), f"{STUDENT_FILE} defines no function {name}"

    def sync(peer_last: int, log: LeaderLog) -> SyncPlan:
        plan = mod.choose_sync(peer_last, log)
        assert isinstance(plan, SyncPlan), f"choose_sync returned {plan!r}, not a SyncPlan"
        if plan.mode is SyncMode.TRUNC:
            ours = plan.trunc_to == log.snapshot_zxid or plan.trunc_to in log.zxids
            assert ours, (
                f"choose_sync(peer_last={peer_last:#x}, {show_log(log)}) returned TRUNC to "
                f"{plan.trunc_to:#x}, which is not in the leader's history"
            )
        return plan

    def step(log: FollowerLog) -> FollowerStep:
        out = mod.follower_step(log)
        assert isinstance(out, FollowerStep), f"follower_step returned {out!r}, not a FollowerStep"
        return out

    def commit(pending: Sequence[int], acks: Mapping[int, int], quorum: int) -> int | None:
        point = mod.commit_point(pending, acks, quorum)
        assert point is None or point in pending, (
            f"commit_point({[hex(z) for z in pending]}, {show_acks(acks)}, {quorum}) returned "
            f"{point!r}: not None and not one of the pending zxids"
        )
        return point

    return RuleSet(sync, step, commit)


@contextmanager
def plugged_student(mod: ModuleType) -> Iterator[RuleSet]:
    with plugged(student_rules(mod)) as rules:
        yield rules


def show_log(log: LeaderLog) -> str:
    zs = ", ".join(hex(z) for z in log.zxids)
    return f"LeaderLog(snapshot_zxid={log.snapshot_zxid:#x}, zxids=({zs}), diff_limit={log.diff_limit})"


def show_follower(log: FollowerLog) -> str:
    hist = "None" if log.history is None else f"{log.history:#x}"
    return (
        f"FollowerLog(history={hist}, epoch_taken={log.epoch_taken}, "
        f"newleader_acked={log.newleader_acked}, last_zxid={log.last_zxid:#x}, "
        f"durable_zxid={log.durable_zxid:#x}, acked_zxid={log.acked_zxid:#x})"
    )


def show_plan(plan: object) -> str:
    if not isinstance(plan, SyncPlan):
        return repr(plan)
    return f"TRUNC to {plan.trunc_to:#x}" if plan.mode is SyncMode.TRUNC else str(plan.mode)


def show_acks(acks: Mapping[int, int]) -> str:
    return "{" + ", ".join(f"{k}: {v:#x}" for k, v in sorted(acks.items())) + "}"


def random_runs(rng: Any, count: int) -> list[tuple[int, int]]:
    """(nodes, sim seed) pairs: three and five servers."""
    return [(rng.choice((3, 3, 5)), rng.randrange(1 << 30)) for _ in range(count)]


SEARCH_BOUNDS = Bounds(max_depth=70, max_restarts=2, time_limit=40.0, max_states=6000)


# == a scenario's schedule =====================================================================

Step = dict[str, Any]
_ORDER = {"deliver": 0, "flush": 1}


class Stuck(AssertionError):
    pass


class Director:
    """A 3-server simulation stepped in a fixed order; ``held`` steps wait."""

    def __init__(self, nodes: int = 3) -> None:
        bounds = Bounds(max_crashes=0, max_restarts=0, max_writes=0, ticks=True)
        self.ex = Explorer(SimConfig(nodes=nodes), bounds)
        self.st: Stepper = self.ex.boot()
        self.held: list[Callable[[Step], bool]] = []
        self.story: list[str] = []  # what the scenario did, for a failure's explanation

    def do(self, what: str, **step: Any) -> None:
        """A step of the scenario's own (crash, restart, write, partition, heal)."""
        self.story.append(f"{self.st.now:>6} ms  {what}")
        self.st.step({"t": self.st.now, **step})
        self.ex.settle(self.st)

    def replica(self, n: int) -> ZabReplica | None:
        node = self.st.nodes[n]
        r = node.replica
        return r if node.up and isinstance(r, ZabReplica) else None

    def leader(self, among: Sequence[int] | None = None) -> int | None:
        ids = among or self.st.ids
        found = [n for n in ids if (r := self.replica(n)) is not None and r.is_leader]
        return found[0] if len(found) == 1 else None

    def acked(self, payload: str) -> bool:
        return payload.encode() in self.st.acked

    def next_step(self) -> Step | None:
        """The step the director takes next (None: nothing is left but held steps)."""
        options = [c for c in self.ex.choices(self.st) if not any(h(c) for h in self.held)]
        if not options:
            return None
        return min(options, key=lambda c: (_ORDER.get(c["do"], 2), c["t"], c["do"] == "tick"))

    def run(self, until: Callable[[], bool], what: str, limit: int = 4000) -> None:
        """Take steps until ``until()``; a run that cannot get there fails the scenario."""
        for _ in range(limit):
            if until():
                return
            c = self.next_step()
            if c is None:
                break
            self.ex.take(self.st, c)
        if until():
            return
        raise Stuck(f"stuck waiting for {what} ({self.st.now} ms simulated)")

    def quiet(self) -> bool:
        """No delivery or log sync is left to take (only timers, ticks and held steps)."""
        c = self.next_step()
        return c is None or c["do"] not in _ORDER

    def run_quiet(self, what: str) -> None:
        self.run(self.quiet, what)

    def violations(self) -> list[str]:
        """The simulator's checks on the run so far (safety, and agreement once converged)."""
        bad = self.st.safety()
        final = {n: list(node.app.entries) for n, node in self.st.nodes.items()}
        outcome = self.st.outcome(final)
        if outcome.converged:
            bad += [v for v in check_run(outcome) if v not in bad]
        return bad

    def diagram(self, path: Path, title: str, violations: list[str]) -> bool:
        """Write the run's message diagram (zablab sim's, with the first violating step marked)
        to ``path``; False if it cannot be written. Call it with the same rules plugged in."""
        r = self.st.result()
        r.violations = violations
        try:
            path.write_text(render_html(self.st, r, title), encoding="utf-8")
        except OSError:
            return False
        return True

    def held_step(self, do: str, node: int | None = None, frm: int | None = None) -> None:
        def hold(c: Step) -> bool:
            if c["do"] != do:
                return False
            if do == "deliver":
                return c["frm"] == frm and c["to"] == node and c["ch"] == "zab"
            return node is None or c.get("node") == node

        self.held.append(hold)


__all__ = [
    "FUNCTIONS",
    "SEARCH_BOUNDS",
    "STUDENT_FILE",
    "Director",
    "Stuck",
    "plugged_student",
    "random_runs",
    "show_acks",
    "show_follower",
    "show_log",
    "show_plan",
    "student_rules",
]
