"""A follower far behind a loaded leader catches up batch after batch, without waiting a tick
per batch: otherwise a restarted follower under a steady write load never reaches the
leader's commit point and never serves (seen on `zablab test --nemesis kill` with Paxos)."""

from __future__ import annotations

from zablab.node.paxos import messages as m
from zablab.node.paxos.replica import PaxosReplica
from zablab.node.replica import ReplicaConfig, Send
from zablab.node.replica.factory import make_replica
from zablab.node.storage import SimDisk, Storage
from zablab.sim.app import SimApp


def leader_with(decided: int) -> tuple[PaxosReplica, int]:
    st = Storage(SimDisk())
    r = make_replica("paxos", 1, [1, 2, 3], ReplicaConfig(tick_ms=100), st, SimApp())
    assert isinstance(r, PaxosReplica)
    r.start(0)
    r.on_tick(10_000)
    assert r.lead is not None
    rnd = r.lead.round
    r.on_message(10_001, 2, m.Promise(rnd, b"", 0, 0, 0, 0, b""))
    for i in range(decided):
        r.propose(10_002, b"w%d" % i)
        st.log.sync()
        r.on_flushed(10_002)
        r.on_message(10_002, 2, m.Accepted(rnd, i + 1))
    assert r.delivered == decided
    return r, rnd


def accepted_slots(actions: list, to: int) -> list[int]:
    return [
        a.msg.slot
        for a in actions
        if isinstance(a, Send) and a.to == to and isinstance(a.msg, m.Accept)
    ]


def test_each_status_at_the_end_of_a_batch_gets_the_next_batch_at_once():
    r, rnd = leader_with(200)
    have, batches = 0, 0
    while have < 200:
        slots = accepted_slots(r.on_message(10_010, 3, m.Status(rnd, have, b"")), 3)
        assert slots, f"a follower at slot {have} of 200 got nothing to catch up with"
        assert slots[0] == have + 1
        have = slots[-1]
        batches += 1
    assert batches <= 200 // 32 + 1


def test_a_batch_still_arriving_is_not_sent_again():
    r, rnd = leader_with(100)
    first = accepted_slots(r.on_message(10_010, 3, m.Status(rnd, 0, b"")), 3)
    assert first[0] == 1 and len(first) > 2
    # the follower reports every slot of the batch it delivers: nothing is resent meanwhile
    assert accepted_slots(r.on_message(10_011, 3, m.Status(rnd, 1, b"")), 3) == []
    assert accepted_slots(r.on_message(10_012, 3, m.Status(rnd, 2, b"")), 3) == []
    # no progress since (the batch was lost): the same report gets the slots again
    assert accepted_slots(r.on_message(10_013, 3, m.Status(rnd, 2, b"")), 3)[0] == 3
