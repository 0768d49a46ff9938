"""Driving a student's Paxos rules: one acceptor by hand (a real replica, a simulated disk that
can crash), and the whole Multi-Paxos replica in the simulator with the rules plugged in.

The simulator's own checks are ZAB's; Paxos promises less (no primary order), so the runs here
check Paxos's own properties instead, watching every replica as it delivers:
- agreement: no two different values decided for one slot;
- validity: every decided value is a no-op or a write some client submitted;
- no acknowledged write lost: an established leader holds every write a client saw committed,
  and after the heal every replica does;
- liveness: after the heal the cluster converges on one leader.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from zablab.node.paxos.acceptor import Rules, plugged
from zablab.node.paxos.replica import PaxosReplica
from zablab.node.replica import ReplicaConfig, RoleChange, Send
from zablab.node.replica.factory import make_replica
from zablab.node.storage import SimDisk, Storage
from zablab.sim import SimConfig, Simulation
from zablab.sim.app import SimApp
from zablab.sim.checks import NO_CONVERGENCE
from zablab.sim.search import Bounds, Explorer, SearchResult
from zablab.sim.stepper import Stepper

STUDENT_FILE = "paxos.py"
FUNCTIONS = ("on_prepare", "on_accept", "recover")
CFG = ReplicaConfig(tick_ms=100, sync_limit=5, init_limit=10)


def student_rules(mod: ModuleType) -> Rules:
    missing = [f for f in FUNCTIONS if not callable(getattr(mod, f, None))]
    assert not missing, f"{STUDENT_FILE} defines no function {', '.join(missing)}"
    return Rules(mod.on_prepare, mod.on_accept, mod.recover)


@contextmanager
def student_paxos(mod: ModuleType) -> Iterator[Rules]:
    """Every Paxos replica runs the student's rules within the block."""
    with plugged(student_rules(mod)) as rules:
        yield rules


# == one acceptor by hand ======================================================================


@dataclass
class Acceptor:
    """Server 1 of {1, 2, 3} as an acceptor: messages in, what it sends out."""

    disk: SimDisk = field(default_factory=SimDisk)
    replica: PaxosReplica = field(init=False)
    storage: Storage = field(init=False)
    now: int = 0

    def __post_init__(self) -> None:
        self.boot()

    def boot(self) -> None:
        self.storage = Storage(self.disk)
        r = make_replica("paxos", 1, [1, 2, 3], CFG, self.storage, SimApp())
        assert isinstance(r, PaxosReplica)
        self.replica = r
        r.start(self.now)

    def send(self, frm: int, msg: Any) -> list[tuple[int, Any]]:
        self.now += 1
        return sends(self.replica.on_message(self.now, frm, msg))

    def sync(self) -> list[tuple[int, Any]]:
        """The log's sync lands: what the acceptor sends then."""
        self.now += 1
        self.storage.log.sync()
        return sends(self.replica.on_flushed(self.now))

    def crash(self) -> None:
        """The server crashes (what was not synced is lost) and restarts from its disk."""
        self.disk.crash()
        self.boot()


def sends(actions: list[Any]) -> list[tuple[int, Any]]:
    return [(a.to, a.msg) for a in actions if isinstance(a, Send)]


# == the replica in the simulator ==============================================================


class _Watch:
    """Paxos's properties, watched at every step of a run (a mixin of Simulation)."""

    nodes: dict[int, Any]
    origin: dict[bytes, int]
    acked: dict[bytes, int]

    def watch_init(self) -> None:
        self.decided: dict[int, tuple[int, int, bytes]] = {}  # slot -> (node, zxid, payload)
        self.seen: dict[int, int] = {}  # node -> slots it delivered so far (its incarnation)
        self.paxos_violations: list[str] = []

    def watch(self, n: int) -> None:
        r = self.nodes[n].replica
        if not isinstance(r, PaxosReplica):
            return
        seen = self.seen.get(n, 0)
        if r.delivered < seen:  # restarted: its replica begins again from its disk
            seen = 0
        for slot in range(max(seen, r.base) + 1, r.delivered + 1):
            e = r.log.get(slot)
            if e is not None:
                self._decided(n, slot, e.zxid, e.payload)
        self.seen[n] = r.delivered

    def _decided(self, n: int, slot: int, zxid: int, payload: bytes) -> None:
        bad = self.paxos_violations
        first = self.decided.setdefault(slot, (n, zxid, payload))
        if first[1:] != (zxid, payload):
            bad.append(
                f"agreement: slot {slot} decided {_show(first[2])} at node {first[0]} but "
                f"{_show(payload)} at node {n}"
            )
        if zxid != 0 and payload not in self.origin:
            bad.append(f"validity: node {n} decided {_show(payload)} at slot {slot}, "
                       "which no client wrote")  # fmt: skip

    def established(self, n: int, actions: list[Any]) -> None:
        """A leader, as it establishes its round, holds every write acknowledged so far (a
        leader of an older round may still think it leads: it is not checked)."""
        if not any(isinstance(a, RoleChange) and a.role == "LEADING" for a in actions):
            return
        have = {p for _, p in self.nodes[n].app.entries}
        r = self.nodes[n].replica
        for payload in self.acked:
            if payload not in have:
                self.paxos_violations.append(
                    f"lost write: {payload.decode()} was acknowledged but node {n} established "
                    f"itself as leader of round {r.lead.round} without it"
                )


def _show(payload: bytes) -> str:
    return "a no-op" if payload == b"" else payload.decode(errors="replace")


class PaxosSimulation(_Watch, Simulation):
    def __init__(self, seed: int, config: SimConfig) -> None:
        super().__init__(seed, config)
        self.watch_init()

    def apply(self, n: int, actions: list[Any]) -> None:
        super().apply(n, actions)
        self.watch(n)
        self.established(n, actions)


@dataclass
class RunReport:
    violations: list[str]
    summary: str
    elected: int
    submitted: int
    acked: int
    replay: str


def paxos_config(nodes: int = 3, **kw: Any) -> SimConfig:
    return SimConfig(nodes=nodes, protocol="paxos", **kw)


def run(seed: int, config: SimConfig) -> RunReport:
    """One random run of the replica, checked for Paxos's properties (not ZAB's primary order,
    which Multi-Paxos with a pipelining window does not keep)."""
    sim = PaxosSimulation(seed, config)
    r = sim.run()
    bad = list(sim.paxos_violations)
    bad += [
        v for v in r.violations if v.startswith(("lost write:", "divergent state", NO_CONVERGENCE))
    ]
    return RunReport(
        violations=bad,
        summary=r.summary().splitlines()[0],
        elected=r.stats["elected"],
        submitted=len(sim.origin),
        acked=len(sim.acked),
        replay=config.replay_command(seed).replace("python -m zablab.sim", "zablab sim"),
    )


class PaxosStepper(_Watch, Stepper):
    def __init__(self, config: SimConfig | None = None) -> None:
        super().__init__(config)
        self.watch_init()

    def apply(self, n: int, actions: list[Any]) -> None:
        super().apply(n, actions)
        self.watch(n)
        self.established(n, actions)

    def safety(self) -> list[str]:
        return list(self.paxos_violations)


class PaxosExplorer(Explorer):
    stepper = PaxosStepper


SEARCH_BOUNDS = Bounds(
    max_depth=90, max_crashes=2, max_restarts=1, max_writes=3, ticks=True, time_limit=120.0
)


def explore(seed: int, max_states: int) -> SearchResult:
    """Random depth-first walks over 3 replicas' schedules (deliveries, syncs, ticks, crashes,
    a restart, client writes at the leader) until ``max_states`` states (a bound on states, not
    on time, so a seed explores the same walks on any machine)."""
    bounds = replace(SEARCH_BOUNDS, max_states=max_states)
    return PaxosExplorer(paxos_config(3), bounds).dfs(seed)


class Script:
    """A hand-made schedule on a PaxosStepper: fair progress among some nodes (every message
    between them delivered and every log synced as soon as possible, one node's tick when
    nothing else is pending), so a test can place its faults exactly where they hurt."""

    def __init__(self, cfg: SimConfig | None = None) -> None:
        self.cfg = cfg or paxos_config(3)
        self.st = PaxosStepper(self.cfg)
        self.turn = 0
        for n in self.st.ids:
            self.do("restart", node=n)

    def do(self, what: str, **args: Any) -> bool:
        st = self.st
        took = st.step({"t": st.now, "do": what, **args})
        for n in st.ids:  # a leader's own forwarded proposals are taken at once
            while st.proposals[n]:
                st.step({"t": st.now, "do": "propose", "node": n})
            while st.notices[n]:
                st.step({"t": st.now, "do": "disconnect", "node": n, "peer": st.notices[n][0]})
        return took

    def deliver(self, a: int, b: int) -> bool:
        return self.do("deliver", frm=a, to=b, ch="zab")

    def leader(self, among: list[int] | None = None) -> int | None:
        for n in among or self.st.ids:
            x = self.st.nodes[n]
            if x.up and x.replica is not None and x.replica.is_leader:
                return n
        return None

    def fair(self, among: list[int], until: Any, limit: int = 600) -> None:
        """Fair steps among ``among`` until ``until()`` holds."""
        st = self.st
        for _ in range(limit):
            if until():
                return
            links = [(a, b) for (a, b, ch), q in sorted(st.qnet.queues.items())
                     if q and a in among and b in among and st.qnet.head(a, b, ch)]  # fmt: skip
            syncs = [n for n in among if st.flushes[n]]
            if links:
                self.deliver(*links[0])
            elif syncs:
                self.do("flush", node=syncs[0])
            else:
                self.turn += 1
                n = among[self.turn % len(among)]
                st.step({"t": st.now + self.cfg.tick_ms // len(among), "do": "tick", "node": n})
        raise AssertionError(f"{until.__doc__ or 'the goal'} not reached in {limit} fair steps")

    def elect(self, among: list[int]) -> int:
        def established() -> bool:
            """a leader established"""
            return self.leader(among) is not None

        self.fair(among, established)
        leader = self.leader(among)
        assert leader is not None
        return leader

    def quiet(self, among: list[int]) -> None:
        """Every message among them delivered and every log synced (no ticks)."""

        def idle() -> bool:
            """quiet"""
            st = self.st
            return not any(st.flushes[n] for n in among) and not any(
                q and a in among and b in among and st.qnet.head(a, b, ch)
                for (a, b, ch), q in st.qnet.queues.items()
            )

        self.fair(among, idle)

    def write(self, node: int, payload: str) -> None:
        self.do("write", node=node, payload=payload)


def deposed_leader_accept() -> list[str]:
    """A leader's Accept is held by a partition while the others elect a new leader, who
    decides its own write in that slot; at the heal the old Accept reaches the other follower.
    An acceptor that takes it lets the deposed leader decide a second value in the slot."""
    s = Script()
    old = s.elect(s.st.ids)
    s.quiet(s.st.ids)
    others = [n for n in s.st.ids if n != old]
    s.write(old, f"old@{old}")
    s.quiet([old])  # its own vote is on its disk; its Accepts wait in the network
    s.do("partition", groups=[[old], others], silent=True)
    new = s.elect(others)
    s.write(new, f"new@{new}")
    s.fair(others, lambda: all(f"new@{new}".encode() in {p for _, p in s.st.nodes[n].app.entries}
                               for n in others))  # fmt: skip
    s.do("heal")
    (follower,) = [n for n in others if n != new]
    s.deliver(old, follower)  # the held Accept, then the follower's answer, before anything
    s.deliver(follower, old)  # the new leader sent the old one (FIFO per link)
    s.quiet(s.st.ids)
    return s.st.safety()


def acknowledging_quorum_crashes() -> list[str]:
    """The leader counts one follower's vote for a write, then that follower and the leader
    crash; the follower restarts and elects a leader with the third server. A vote sent before
    the follower's log sync is gone from its disk, and the write with it."""
    s = Script()
    lead = s.elect(s.st.ids)
    s.quiet(s.st.ids)
    voter, other = [n for n in s.st.ids if n != lead]
    s.write(lead, f"w@{lead}")
    s.deliver(lead, voter)  # the Accept reaches the voter, which has not synced it yet
    s.deliver(voter, lead)  # whatever it answered at once
    s.quiet([lead])  # the leader's own vote is durable
    s.do("crash", node=voter, keep=[])
    s.do("crash", node=lead, keep=[])
    s.do("restart", node=voter)
    s.elect([voter, other])
    return s.st.safety()
