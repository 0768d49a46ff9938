"""Each fault takes effect, is recorded, and heal_all undoes every one of them."""

from __future__ import annotations

import random

import pytest

from zablab.errors import UserError
from zablab.harness.backends.base import Node
from zablab.harness.faults.nemesis import FAULTS, Nemesis, parse_nemesis
from zablab.harness.recorder import Recorder


class FakeNet:
    def __init__(self):
        self.grudge = {}
        self.lossy = {}

    def partition(self, g):
        self.grudge = g

    def heal(self):
        self.grudge, self.lossy = {}, {}

    def loss(self, nodes, p):
        self.lossy = {n: p for n in nodes}

    def delay(self, nodes, ms):
        self.lossy = {n: ms for n in nodes}


class FakeClock:
    def __init__(self):
        self.offsets = {}

    def bump(self, node, ms):
        self.offsets[node] = self.offsets.get(node, 0) + ms

    def strobe(self, node, ms, period, duration):
        self.offsets[node] = ms

    def reset(self, nodes=None):
        self.offsets = {}


class FakeBackend:
    def __init__(self):
        self._net, self._clock = FakeNet(), FakeClock()

    def net(self):
        return self._net

    def clock(self):
        return self._clock


class FakeDB:
    def __init__(self):
        self.up = {f"n{i}" for i in range(1, 6)}
        self.stopped = set()
        self.dropped = set()

    def primaries(self, nodes=None):
        return ["n2"]

    def kill(self, n):
        self.up.discard(n.name)

    def lose_unfsynced(self, n):
        assert n.name not in self.up, "the disk is dropped only once the node is dead"
        self.dropped.add(n.name)
        return {"files": 1, "bytes": 10}

    def start(self, n):
        self.up.add(n.name)

    def pause(self, n):
        self.stopped.add(n.name)

    def resume(self, n):
        self.stopped.discard(n.name)


def make(kinds):
    nodes = [Node(f"n{i}", i, "127.0.0.1", None) for i in range(1, 6)]  # type: ignore[arg-type]
    b, db, rec = FakeBackend(), FakeDB(), Recorder(None)
    return Nemesis(kinds, b, db, nodes, rec, random.Random(7), 0.01), b, db, rec


@pytest.mark.parametrize("kind", FAULTS)
def test_each_fault_takes_effect_and_heal_all_undoes_it(kind):
    nem, b, db, rec = make([kind])
    nem.start(kind)
    effect = {
        "loss": lambda: b._net.lossy,
        "delay": lambda: b._net.lossy,
        "kill": lambda: len(db.up) < 5,
        # a majority at least, every one dead before any disk is dropped
        "lose-unfsynced": lambda: (
            len(db.up) <= 2 and db.dropped == {f"n{i}" for i in range(1, 6)} - db.up
        ),
        "pause": lambda: db.stopped,
        # the way to a crash point: one follower falls behind; stop() kills the leader
        "crash-point": lambda: len(db.stopped) == 1 and "n2" not in db.stopped,
        "clock": lambda: b._clock.offsets,
    }.get(kind, lambda: b._net.grudge)
    assert effect(), f"{kind} had no effect"
    assert any(op.process == "nemesis" and op.value is not None for op in rec.ops)
    nem.heal_all()
    assert not b._net.grudge and not b._net.lossy
    assert len(db.up) == 5 and not db.stopped and not b._clock.offsets


def test_run_alternates_start_and_stop_and_records_both():
    import threading

    nem, b, db, rec = make(["kill"])
    stop = threading.Event()
    t = threading.Thread(target=nem.run, args=(stop,))
    t.start()
    while sum(1 for op in rec.ops if op.f == "restart" and op.value) < 2:
        stop.wait(0.01)
    stop.set()
    t.join(5)
    nem.heal_all()
    fs = [op.f for op in rec.ops if op.value is not None]
    assert fs[:2] == ["kill", "restart"]
    assert len(db.up) == 5


def test_parse_nemesis():
    assert parse_nemesis("none") == []
    assert parse_nemesis("partition, kill") == ["partition", "kill"]
    with pytest.raises(UserError, match="unknown --nemesis bogus"):
        parse_nemesis("partition,bogus")


def test_crash_point_kills_the_leader_as_the_lagging_follower_resumes():
    nem, _, db, rec = make(["crash-point"])
    nem.start("crash-point")
    nem.stop("crash-point")
    assert db.up == {"n1", "n3", "n4", "n5"} and not db.stopped
    nem.start("crash-point")  # the next round brings the leader back first
    assert "n2" in db.up


def test_a_node_stopped_at_its_crash_point_gets_a_power_cut_and_the_sync_leader_comes_last(
    tmp_path,
):
    import json
    import threading

    from zablab.node.crashpoint import marker_path

    nem, _, db, rec = make(["crash-point"])
    db.trace_path = lambda n: str(tmp_path / f"{n.name}.jsonl")
    started: list[set[str]] = []
    db.start = lambda n: (db.up.add(n.name), started.append(set(db.up)))
    stop = threading.Event()
    assert nem._wait(stop, 0.05) is False  # no marker: a plain wait
    with open(marker_path(db.trace_path(nem.nodes[2])), "w") as fh:
        json.dump({"point": "newleader", "leader": 4}, fh)
    assert nem._wait(stop, 0.05) is False
    cut = next(op.value for op in rec.ops if op.f == "lose-unfsynced" and op.type == "info")
    assert cut["crash-point"]["node"] == "n3" and db.dropped == {f"n{i}" for i in range(1, 6)}
    # every node but the sync's leader (n4) restarts first, n4 an interval later
    assert started[3] == {"n1", "n2", "n3", "n5"} and started[4] == {f"n{i}" for i in range(1, 6)}
    assert nem._wait(stop, 0.05) is False  # fired once: the marker stays, no second cut
    assert sum(op.f == "lose-unfsynced" for op in rec.ops) == 2  # its invoke and info
