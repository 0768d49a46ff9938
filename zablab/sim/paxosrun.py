"""PaxosRun, the ZooKeeper wiki's case against Multi-Paxos for primary-backup, as a schedule.

Three servers, three roles. P1, the first leader, proposes A and B in two pipelined instances
(its client sends both without waiting) and only P1 itself accepts them: its connections to
the others break first. The other two elect P2, which decides C in A's instance. Then P2 is cut
off and the third server, P3, leads with P1 in its quorum: Paxos's phase 1 finds C (the higher
ballot) in A's instance and B in the next, so P3 decides C, B and then its own D — B is
delivered though A, which B was computed after, never is. ZAB's recovery takes the new
leader's whole history instead, so the same schedule ends with C and D only.

The ops: after filler creates that bring the log to instance 26, A = put /r "a", B = put /r "b"
(client c1 at P1), C = put /s "c" (c2 at P2),
D = put /r "d" (c3 at P3), then a synced read of /r and /s at every server on a fresh session.
Under Paxos/deltas B is P1's txn "set /r to version 2", applied to a /r at version 0: the tree
skips a version (misfit.py says so). Under Paxos/commands B is the request "put /r b", validated
and applied on the state it meets: primary order is still broken in the trace, but the tree is
one a sequence of the clients' requests makes and the history is linearizable.

The script is written in roles, not server ids, and advances only through steps (stepper
vocabulary plus servers.py's client steps), so the run is deterministic and its steps form a
trace file that replays it. ``run_paxosrun`` builds it and judges it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import KV
from zablab.checkers.result import Result
from zablab.checkers.zab import check_zab_trace
from zablab.errors import UserError
from zablab.node.replica.zxid import fmt

from .cluster import SimConfig
from .servers import ReplicaFactory, ServerStepper, trace_hash

SETTLE_STEPS = 20_000  # a quiet network is reached long before this
WAIT_TICKS = 200  # per phase: elections take a few dozen ticks at most
FIRST_TICKS = 30  # P3 alone, before P1's clock runs too
FIRST_INSTANCE = 27  # A's instance (slot) in the wiki

PRIMARY_ORDER = ("local-primary-order", "global-primary-order", "primary-integrity")


class ScenarioStuck(Exception):
    """The script waited for something (a leader, convergence) that did not happen."""


@dataclass
class PaxosRun:
    protocol: str
    mode: str
    steps: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    history: list[Any]
    misfits: list[str]
    roles: dict[str, int]  # P1, P2, P3 -> server id
    labels: dict[str, str]  # txn hash -> A/B/C/D
    delivered: dict[int, list[str]]  # server -> the labelled txns it delivered, in order
    trees_agree: bool
    r_stat: dict[int, tuple[str, int]]  # server -> /r's (data, version)
    zab: Result
    linearizable: Result
    broken: list[str] = field(default_factory=list)
    trace_hash: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.broken else 0

    def report(self) -> str:
        name = self.protocol + (f"/{self.mode}" if self.protocol == "paxos" else "")
        roles = ", ".join(f"{k}=n{v}" for k, v in self.roles.items())
        lines = [f"PaxosRun on {name} ({roles}; {len(self.steps)} steps)"]
        for n, seq in sorted(self.delivered.items()):
            lines.append(f"  n{n} delivered {' '.join(seq) or '(none of A-D)'}")
        orphans = [
            f"n{n}"
            for n, seq in sorted(self.delivered.items())
            if any(x.startswith("B(") for x in seq) and not any(x.startswith("A(") for x in seq)
        ]
        if orphans:
            lines.append(f"  B delivered without A on {', '.join(orphans)}")
        for prop in ("agreement", "integrity", "total-order", *PRIMARY_ORDER):
            child = next((c for c in self.zab.children if c.checker == prop), None)
            if child is None:
                continue
            word = {True: "holds", False: "BROKEN", "unknown": "unknown"}[child.valid]
            ex = "; ".join(child.details.get("examples", [])[:1])
            lines.append(f"  trace {prop}: {word}" + (f" ({ex})" if ex else ""))
        if self.misfits:
            lines.append(f"  data tree: BROKEN, {len(self.misfits)} txns did not fit:")
            lines += [f"    {m}" for m in self.misfits[:6]]
        else:
            lines.append("  data tree: every txn fit the tree it was applied to")
        shown = ", ".join(f"n{n} {d!r} v{v}" for n, (d, v) in sorted(self.r_stat.items()))
        lines.append(f"  /r at the end: {shown}; trees {'agree' if self.trees_agree else 'DIFFER'}")
        lin = self.linearizable
        word = {True: "linearizable", False: "NOT linearizable", "unknown": "unknown"}[lin.valid]
        why = lin.details.get("reason") or ""
        lines.append(f"  client history (kv): {word}" + (f" ({why})" if why else ""))
        lines.append("  broken: " + (", ".join(self.broken) if self.broken else "nothing"))
        return "\n".join(lines)


class _Script:
    """Drives a ServerStepper by steps: everything it does is a step the stepper records."""

    def __init__(self, cfg: SimConfig, mode: str, factory: ReplicaFactory | None) -> None:
        self.st = ServerStepper(cfg, mode, factory)
        self.st.record = True
        self.tick = cfg.tick_ms

    def do(self, **step: Any) -> bool:
        return self.st.step({"t": self.st.now, **step})

    def settle(self) -> None:
        """Deliver every message that can be delivered, land every log sync, take every
        disconnect notice and due timer, until nothing is left (no time passes)."""
        st = self.st
        for _ in range(SETTLE_STEPS):
            busy = False
            for (a, b, ch), q in sorted(st.qnet.queues.items()):
                if q and st.nodes[b].up and st.qnet.head(a, b, ch) is not None:
                    busy |= self.do(do="deliver", frm=a, to=b, ch=ch)
            for n in st.ids:
                node = st.nodes[n]
                if not node.up:
                    continue
                if st.notices[n]:
                    busy |= self.do(do="disconnect", node=n, peer=st.notices[n][0])
                if st.flushes[n]:
                    busy |= self.do(do="flush", node=n)
                due = sorted(t for t in node.timers if t <= st.now)
                if due:
                    busy |= self.do(do="timer", node=n, at=due[0])
            if not busy:
                return
        raise ScenarioStuck(f"the network never went quiet within {SETTLE_STEPS} rounds")

    def wait(
        self, ticking: list[int], until: Callable[[], bool], what: str, ticks: int = WAIT_TICKS
    ) -> bool:
        """Let time pass tick by tick (only ``ticking`` servers tick) until ``until()``;
        False if it did not come within ``ticks`` (ScenarioStuck if ``what`` names it)."""
        self.settle()
        for _ in range(ticks):
            if until():
                return True
            t = self.st.now + self.tick
            for n in ticking:
                if self.st.nodes[n].up:
                    self.st.step({"t": t, "do": "tick", "node": n})
            self.st.now = t
            self.settle()
        if until():
            return True
        if what:
            raise ScenarioStuck(f"{what} did not happen within {ticks} ticks")
        return False

    def leader_among(self, group: list[int]) -> int | None:
        """The one established leader in ``group`` that every server of it follows."""
        st = self.st
        leaders = [n for n in group if (r := st.nodes[n].replica) is not None and r.is_leader]
        if len(leaders) != 1:
            return None
        serving = all((r := st.nodes[n].replica) is not None and r.serving for n in group)
        return leaders[0] if serving else None

    def write(self, label: str, client: str, key: str, value: str) -> None:
        """A put the report names by ``label`` (kept in the step, so a replay names it too)."""
        self.do(do="request", client=client, f="put", key=key, value=value, label=label)


def build(
    protocol: str, mode: str = "deltas", replica_factory: ReplicaFactory | None = None
) -> _Script:
    """Run the PaxosRun script on fresh servers; the script's stepper holds the outcome.
    ``replica_factory`` builds each server's replica instead of ``make_replica`` (a lab runs
    the script on a student's Paxos)."""
    cfg = SimConfig(nodes=3, protocol=protocol)
    s = _Script(cfg, mode, replica_factory)
    st = s.st
    ids = st.ids
    for n in ids:
        s.do(do="restart", node=n)
    s.wait(ids, lambda: s.leader_among(ids) is not None, "a first leader")
    p1 = s.leader_among(ids)
    assert p1 is not None
    for c in ("c1", "c2", "c3"):  # sessions made while all are up
        s.do(do="connect", client=c, node=p1)
    s.settle()
    s.do(do="request", client="c1", f="create", key="/r", value="")
    s.do(do="request", client="c1", f="create", key="/s", value="")
    s.settle()
    # fill the log up to the wiki's numbering, so that A is proposed in instance 27
    done = sum(e["event"] == "deliver" and e["node"] == p1 for e in st.trace)
    for i in range(done + 1, FIRST_INSTANCE):
        s.do(do="request", client="c1", f="create", key=f"/pad{i}", value="")
    s.settle()
    # P1 proposes A and B back to back; they reach its own log only
    s.write("A", "c1", "/r", "a")
    s.write("B", "c1", "/r", "b")
    s.do(do="flush", node=p1)
    rest = [n for n in ids if n != p1]
    s.do(do="partition", groups=[[p1], rest], silent=False)
    # the other two elect P2, which decides C in A's instance
    s.wait(rest, lambda: s.leader_among(rest) is not None, "a leader of the other two")
    p2 = s.leader_among(rest)
    assert p2 is not None
    (p3,) = [n for n in rest if n != p2]
    s.do(do="connect", client="c2", node=p2)
    s.settle()
    s.write("C", "c2", "/s", "c")
    s.settle()
    # P2 is cut off; P3 leads with P1 in its quorum, then decides D
    group = sorted([p1, p3])
    s.do(do="partition", groups=[[p2], group], silent=False)
    # P3's clock runs first, as the wiki's third process: under Paxos it runs phase 1 while P1
    # still thinks it leads. ZAB's stale leader must notice it lost its quorum (its ticks)
    # before the two can elect, so after a while both tick.
    led = lambda: s.leader_among(group) is not None  # noqa: E731
    if not s.wait([p3], led, "", FIRST_TICKS):
        s.wait(group, led, "a leader with P1 in its quorum")
    leader = s.leader_among(group)
    assert leader is not None
    s.do(do="connect", client="c3", node=leader)
    s.settle()
    s.write("D", "c3", "/r", "d")
    s.settle()
    # heal, converge, and read everything back at every server
    s.do(do="heal")
    s.wait(ids, lambda: st.converged(), "convergence after the heal")
    for i, n in enumerate(ids):
        f = f"f{i + 1}"
        s.do(do="connect", client=f, node=n)
        s.settle()
        for key in ("/r", "/s"):
            s.do(do="request", client=f, f="get", key=key, final=True)
            s.settle()
    return s


def run_paxosrun(
    protocol: str, mode: str = "deltas", replica_factory: ReplicaFactory | None = None
) -> PaxosRun:
    """Build the schedule on ``protocol`` (in ``mode`` on Paxos) and judge it."""
    try:
        s = build(protocol, mode, replica_factory)
    except ScenarioStuck as e:
        raise UserError(f"the PaxosRun script got stuck on {protocol}: {e}") from None
    return judge(s.st)


def replay_paxosrun(cfg: SimConfig, mode: str, steps: list[dict[str, Any]]) -> PaxosRun:
    """Take a saved PaxosRun schedule's steps again on fresh servers and judge the result."""
    st = ServerStepper(cfg, mode)
    st.run_steps(steps)
    return judge(st)


def labels_of(st: ServerStepper) -> dict[str, str]:
    """txn hash -> the label of the request step whose broadcast it was."""
    out: dict[str, str] = {}
    for e, i in zip(st.trace, st.trace_step, strict=False):
        label = st.steps[i].get("label") if 0 <= i < len(st.steps) else None
        if label and e.get("event") == "broadcast" and "txn" in e:
            out[e["txn"]] = str(label)
    return out


def roles_of(trace: list[dict[str, Any]]) -> dict[str, int]:
    """P1, P2, P3: the servers elected first, second and third."""
    elected = [int(e["node"]) for e in trace if e.get("event") == "elected"]
    return {f"P{i + 1}": n for i, n in enumerate(elected[:3])}


def judge(st: ServerStepper) -> PaxosRun:
    """The ZAB checker on the trace, the misfits and agreement of the trees, and the clients'
    history as a linearizable kv store."""
    protocol, mode = st.cfg.protocol, st.mode
    labels = labels_of(st)
    zab = check_zab_trace(st.trace, quiesced=False)
    lin = check_linearizable(st.history, KV(), timeout=30)
    delivered: dict[int, list[str]] = {n: [] for n in st.ids}
    for e in st.trace:
        if e.get("event") == "deliver" and e.get("txn") in labels:
            delivered[e["node"]].append(f"{labels[e['txn']]}({fmt(e['zxid'])})")
    trees = {n: st.reps[n].core.tree for n in st.ids if n in st.reps}
    blobs = {t.serialize()[8:] for t in trees.values()}  # the last zxid aside
    r_stat: dict[int, tuple[str, int]] = {}
    for n, t in trees.items():
        node = t.nodes.get("/r")
        if node is not None:
            r_stat[n] = ((node.data or b"").decode(), node.version)
    broken = [c.checker for c in zab.children if c.valid is False]
    if st.misfits:
        broken.append("data-tree (txns applied to a state they were not computed on)")
    if len(blobs) != 1:
        broken.append("tree agreement")
    if lin.valid is False:
        broken.append("linearizability")
    elif lin.valid != True:  # noqa: E712 (a verdict may be the string "unknown")
        broken.append(f"linearizability unknown ({lin.details.get('reason', '')})")
    return PaxosRun(
        protocol,
        mode,
        list(st.steps),
        list(st.trace),
        list(st.history),
        list(st.misfits),
        roles_of(st.trace),
        labels,
        delivered,
        len(blobs) == 1,
        r_stat,
        zab,
        lin,
        broken,
        trace_hash(st.trace),
    )
