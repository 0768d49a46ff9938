"""The Multi-Paxos replica's acceptor and leader rules, driven message by message."""

from __future__ import annotations

from zablab.node.paxos import messages as m
from zablab.node.paxos.replica import PROMISED_FILE, PaxosReplica
from zablab.node.replica import Deliver, Flush, ReplicaConfig, RoleChange, Send, make_zxid
from zablab.node.replica.factory import make_replica
from zablab.node.storage import SimDisk, Storage
from zablab.sim.app import SimApp

CFG = ReplicaConfig(tick_ms=100, sync_limit=5, init_limit=10)


def sends(actions):
    return [(a.to, a.msg) for a in actions if isinstance(a, Send)]


def replica(my_id=1, disk=None, cfg=CFG):
    disk = disk or SimDisk()
    st = Storage(disk)
    r = make_replica("paxos", my_id, [1, 2, 3], cfg, st, SimApp())
    assert isinstance(r, PaxosReplica)
    r.start(0)
    return r, st, disk


def test_promise_is_durable_and_returns_accepted_values():
    r, st, disk = replica()
    r.on_message(1, 2, m.Accept(3, 1, make_zxid(3, 1), b"a"))
    st.log.sync()
    r.on_flushed(2)
    out = r.on_message(3, 3, m.Prepare(5, 1))
    ((to, promise),) = sends(out)
    assert to == 3 and isinstance(promise, m.Promise) and promise.round == 5
    assert m.unpack_entries(promise.entries) == [(1, m.Entry(3, make_zxid(3, 1), b"a"))]
    # the promise was on disk before the reply left
    assert Storage(disk).state(PROMISED_FILE).read(0) // (1 << 16) == 5


def test_acceptor_rejects_a_lower_ballot():
    r, _, _ = replica()
    r.on_message(1, 3, m.Prepare(5, 1))
    assert sends(r.on_message(2, 2, m.Prepare(4, 1))) == [(2, m.Nack(5))]
    assert sends(r.on_message(2, 2, m.Prepare(5, 1))) == [
        (2, m.Nack(5))
    ]  # a round is promised once
    assert sends(r.on_message(3, 2, m.Accept(4, 1, make_zxid(4, 1), b"x"))) == [(2, m.Nack(5))]
    assert 1 not in r.log  # nothing of the lower ballot was accepted


def test_accept_is_persisted_before_the_reply():
    r, st, disk = replica()
    out = r.on_message(1, 2, m.Accept(1, 1, make_zxid(1, 1), b"a"))
    assert sends(out) == [] and any(isinstance(a, Flush) for a in out)
    disk.crash()  # the accept was never synced: it is gone, and was never acknowledged
    again = Storage(disk)
    assert list(again.recover().records) == []
    r, st, disk = replica()
    r.on_message(1, 2, m.Accept(1, 1, make_zxid(1, 1), b"a"))
    st.log.sync()
    assert sends(r.on_flushed(2)) == [(2, m.Accepted(1, 1))]
    disk.crash()
    r2 = make_replica("paxos", 1, [1, 2, 3], CFG, Storage(disk), SimApp())
    r2.start(3)
    assert r2.log[1] == m.Entry(1, make_zxid(1, 1), b"a")  # recovered from the log


def test_leader_adopts_the_highest_ballot_value_and_fills_holes_with_noops():
    r, st, _ = replica()
    r.on_message(1, 2, m.Accept(1, 1, make_zxid(1, 1), b"old"))  # node 2 led round 1
    r.on_message(1, 2, m.Accept(1, 3, make_zxid(1, 3), b"c"))
    r.on_message(2, 3, m.Heartbeat(2, 0, 1))  # then node 3 led round 2, and fell silent
    r.on_tick(10_000)  # leader silent: node 1 (rank 0) goes looking ...
    r.on_tick(10_000)  # ... and runs phase 1 at once
    rnd = r.lead.round
    assert rnd == 3
    assert all(isinstance(msg, m.Prepare) for _, msg in sends(r.on_tick(10_001)))
    high = m.pack_entries([(1, m.Entry(2, make_zxid(2, 1), b"new"))])
    out = r.on_message(10_002, 2, m.Promise(rnd, high, 0, 0, 0, 0, b""))
    accepts = {msg.slot: msg for to, msg in sends(out) if to == 2 and isinstance(msg, m.Accept)}
    assert accepts[1] == m.Accept(rnd, 1, make_zxid(2, 1), b"new")  # highest round wins
    assert accepts[2] == m.Accept(rnd, 2, 0, b"")  # the hole becomes a no-op
    assert accepts[3] == m.Accept(rnd, 3, make_zxid(1, 3), b"c")  # keeps its zxid
    assert not r.is_leader  # serving waits for the recovered prefix to be decided
    st.log.sync()
    out = r.on_flushed(10_003)
    for slot in (1, 2, 3):
        out += r.on_message(10_004, 2, m.Accepted(rnd, slot))
    delivered = [a for a in out if isinstance(a, Deliver)]
    assert [(d.payload, d.pos) for d in delivered] == [(b"new", 0), (b"c", 1)]  # no-op skipped
    assert RoleChange("LEADING", rnd, 1) in out and r.is_leader


def test_leader_commits_only_with_a_quorum_including_its_own_durable_vote():
    r, st, _ = replica()
    r.on_tick(10_000)
    rnd = r.lead.round
    assert rnd == 1
    r.on_message(10_001, 2, m.Promise(rnd, b"", 0, 0, 0, 0, b""))
    assert r.is_leader
    r.propose(10_002, b"w")
    out = r.on_message(10_003, 2, m.Accepted(rnd, 1))
    assert not [a for a in out if isinstance(a, Deliver)]  # own vote not durable yet
    st.log.sync()
    out = r.on_flushed(10_004)
    assert [a.payload for a in out if isinstance(a, Deliver)] == [b"w"]


def test_follower_delivers_only_values_of_its_leaders_round_and_asks_for_the_rest():
    r, st, _ = replica()
    r.on_message(1, 2, m.Accept(1, 1, make_zxid(1, 1), b"stale"))  # from an older leader
    r.on_message(2, 3, m.Accept(2, 2, make_zxid(2, 2), b"b"))  # node 3 leads round 2
    out = r.on_message(3, 3, m.Commit(2, 2))
    assert not [a for a in out if isinstance(a, Deliver)]
    assert (3, m.Status(2, 0, b"")) in sends(out)  # the gap is reported to the leader
    out = r.on_message(4, 3, m.Accept(2, 1, make_zxid(1, 1), b"a"))
    assert [a.payload for a in out if isinstance(a, Deliver)] == [b"a", b"b"]


def test_leader_resends_decided_slots_or_a_snapshot_to_a_lagging_follower():
    r, st, _ = replica(cfg=ReplicaConfig(tick_ms=100, committed_log_size=0))
    r.on_tick(10_000)
    rnd = r.lead.round
    r.on_message(10_001, 2, m.Promise(rnd, b"", 0, 0, 0, 0, b""))
    for i in range(3):
        r.propose(10_002, b"w%d" % i)
    st.log.sync()
    r.on_flushed(10_003)
    for slot in (1, 2, 3):
        r.on_message(10_004, 2, m.Accepted(rnd, slot))
    assert r.delivered == 3
    out = sends(r.on_message(10_005, 3, m.Status(rnd, 1, b"")))
    assert [(to, msg.slot) for to, msg in out if isinstance(msg, m.Accept)] == [(3, 2), (3, 3)]
    assert (3, m.Commit(rnd, 3)) in out
    r.compact(10_006)  # a window of committed_log_size=0 decided slots: none kept
    out = sends(r.on_message(10_007, 3, m.Status(rnd, 0, b"")))
    snap = [msg for _, msg in out if isinstance(msg, m.Snap)]
    assert len(snap) == 1 and (snap[0].slot, snap[0].pos) == (3, 3)
