"""The core behind the ZAB replica (quorum.ZabReplicator), three servers in memory.

A deterministic driver stands in for the asyncio runtime: messages are passed as objects,
Flush syncs the simulated disk at once, ticks and timers run on a virtual clock. It shows that
the replica plugs in at the Replicator seam: writes from any server, replies from the server
holding the session, watches everywhere, sessions agreed and expired by the leader.
"""

from __future__ import annotations

from collections import deque

from zablab.node.jute import Writer
from zablab.node.protocol import EPHEMERAL, Err, Event, OpCode
from zablab.node.replica import Close, Flush, Replica, ReplicaConfig, Send, SetTimer
from zablab.node.replica.factory import make_replica
from zablab.node.server import ServerCore
from zablab.node.storage import SimDisk, Storage
from zablab.node.testing import Notification, TestClient
from zablab.node.zab_replicator import ZabReplicator

TICK = 100


class View:
    """What a TestClient needs of a bench: one server's core, and a way to run the world."""

    def __init__(self, ens: Ensemble, sid: int) -> None:
        self.ens = ens
        self.sid = sid
        self.clients: dict[int, TestClient] = {}

    @property
    def core(self) -> ServerCore:
        return self.ens.cores[self.sid]

    def client(self) -> TestClient:
        self.ens.next_cid += 1
        c = TestClient(self, self.ens.next_cid)  # type: ignore[arg-type]
        self.clients[c.cid] = c
        assert self.core.open(c.cid, f"127.0.0.1:{50000 + c.cid}", "127.0.0.1")
        return c

    def step(self) -> None:
        self.ens.pump()


class Ensemble:
    def __init__(self, n: int = 3) -> None:
        self.now = 0
        self.next_cid = 0
        ids = list(range(1, n + 1))
        self.cores: dict[int, ServerCore] = {}
        self.replicas: dict[int, Replica] = {}
        self.reps: dict[int, ZabReplicator] = {}
        self.storages: dict[int, Storage] = {}
        self.timers: dict[int, list[int]] = {i: [] for i in ids}
        self.net: deque[tuple[int, int, object]] = deque()
        self.views = {i: View(self, i) for i in ids}
        for i in ids:
            core = ServerCore(tick_ms=TICK, server_id=i, now=0, wall=1_000_000)
            storage = Storage(SimDisk(f"n{i}"))
            self.storages[i] = storage
            replica = make_replica("zab", i, ids, ReplicaConfig(tick_ms=TICK), storage, core)
            self.cores[i], self.replicas[i] = core, replica
            self.reps[i] = ZabReplicator(core, replica)
        for i in ids:
            self.reps[i].handle(self.replicas[i].start(0))
        self.pump()

    def pump(self) -> None:
        busy = True
        while busy:
            busy = False
            for i, rep in self.reps.items():
                while rep.io:
                    busy = True
                    a = rep.io.pop(0)
                    if isinstance(a, Send):
                        self.net.append((a.to, i, a.msg))
                    elif isinstance(a, Flush):
                        self.storages[i].log.sync()
                        rep.handle(self.replicas[i].on_flushed(self.now))
                    elif isinstance(a, SetTimer):
                        self.timers[i].append(a.at)
                    elif isinstance(a, Close):
                        rep.handle(self.replicas[i].on_disconnect(self.now, a.peer))
                        self.reps[a.peer].handle(self.replicas[a.peer].on_disconnect(self.now, i))
            while self.net:
                busy = True
                to, frm, msg = self.net.popleft()
                self.reps[to].handle(self.replicas[to].on_message(self.now, frm, msg))
            for i, view in self.views.items():
                for cid, data, close in self.cores[i].take_output():
                    c = view.clients.get(cid)
                    if c is not None:
                        c.inbox += data
                        c.closed = c.closed or close

    def advance(self, ms: int) -> None:
        for _ in range(ms // 10):
            self.now += 10
            for i, core in self.cores.items():
                core.now = self.now
                core.wall = 1_000_000 + self.now
                rep = self.reps[i]
                due = [t for t in self.timers[i] if t <= self.now]
                if due:
                    self.timers[i] = [t for t in self.timers[i] if t > self.now]
                    rep.handle(self.replicas[i].on_timer(self.now))
                if self.now % TICK == 0:
                    rep.report_touches()
                    rep.handle(self.replicas[i].on_tick(self.now))
                    core.tick()
            self.pump()

    def leader(self) -> int | None:
        leaders = [i for i, r in self.replicas.items() if r.is_leader]
        return leaders[0] if leaders else None

    def settle(self) -> int:
        for _ in range(100):
            lead = self.leader()
            if lead is not None and all(r.serving for r in self.replicas.values()):
                return lead
            self.advance(100)
        raise AssertionError("no leader with all followers serving")


def test_writes_at_a_follower_reads_and_watches_everywhere():
    ens = Ensemble()
    lead = ens.settle()
    f1, f2 = [i for i in ens.cores if i != lead]
    a = ens.views[f1].client()
    b = ens.views[f2].client()
    w = ens.views[lead].client()
    for c in (a, b, w):
        assert c.connect()[1], "session made through the leader"
    assert w.exists("/x", watch=True).err == Err.NONODE
    r = a.create("/x", b"hello")
    assert r.err == 0 and r.reader().ustring() == "/x"
    assert b.get("/x").reader().buffer() == b"hello"
    ev = [(m.type, m.path) for m in w.read() if isinstance(m, Notification)]
    assert ev == [(Event.NODE_CREATED, "/x")]
    assert a.create("/x").err == Err.NODEEXISTS  # prepped at the leader against its tree
    trees = {i: ens.cores[i].tree.serialize() for i in ens.cores}
    assert len(set(trees.values())) == 1


def test_sync_at_a_follower_waits_for_the_leader():
    ens = Ensemble()
    lead = ens.settle()
    f = next(i for i in ens.cores if i != lead)
    c = ens.views[f].client()
    c.connect()
    r = c.call(OpCode.SYNC, Writer().ustring("/").bytes())
    assert r.err == 0 and r.reader().ustring() == "/"


def test_ephemerals_of_a_silent_session_are_expired_by_the_leader():
    ens = Ensemble()
    lead = ens.settle()
    f = next(i for i in ens.cores if i != lead)
    owner = ens.views[f].client()
    owner.connect(timeout=400)
    assert owner.create("/e", flags=EPHEMERAL).err == 0
    keeper = ens.views[f].client()
    keeper.connect(timeout=400)
    for _ in range(10):  # a live session at a follower is kept alive through the leader
        keeper.send_frame(Writer().int(-2).int(OpCode.PING).bytes())
        ens.advance(100)
    for core in ens.cores.values():
        assert "/e" not in core.tree.nodes
    assert keeper.session_id in ens.cores[lead].tree.sessions
    assert owner.session_id not in ens.cores[lead].tree.sessions


def test_a_server_without_a_leader_refuses_clients():
    ens = Ensemble()
    lead = ens.settle()
    f = next(i for i in ens.cores if i != lead)
    ens.cores[f].serving = False
    c = ens.views[f].client()
    assert c.connect()[0] is None and c.closed
