"""Scripted runs of the replica through the simulator: election, step-down, forwarding,
recovery, and the errors a server sees."""

import pytest

from zablab.errors import UserError
from zablab.node.replica import NotLeader, NotServing, ReplicaConfig
from zablab.node.replica.factory import make_replica
from zablab.node.storage import SimDisk, Storage
from zablab.node.zab.messages import LOOKING
from zablab.sim import SimConfig, Simulation
from zablab.sim.app import SimApp

QUIET = SimConfig(nodes=3, fault_every_ms=10**9, request_every_ms=10**9)


def quiet(nodes=3, **kw):
    sim = Simulation(5, SimConfig(**{**QUIET.__dict__, "nodes": nodes, **kw}))
    sim.boot()
    return sim


def write(sim, node, payload):
    sim.origin[payload] = node
    r = sim.nodes[node].replica
    sim.apply(node, r.submit(sim.now, payload))


def test_a_leader_is_elected_and_followers_forward_writes():
    sim = quiet()
    sim.run_until(1000)
    lead = sim.leader()
    assert lead is not None and sim.converged()
    follower = next(n for n in sim.ids if n != lead)
    r = sim.nodes[lead].replica
    zxid = r.next_zxid
    with pytest.raises(NotLeader):
        _ = sim.nodes[follower].replica.next_zxid
    write(sim, follower, b"via follower")
    write(sim, lead, b"at leader")
    sim.run_until(1500)
    assert {z for z, _ in sim.nodes[lead].app.entries} == {zxid, zxid + 1}
    orders = {tuple(p for _, p in node.app.entries) for node in sim.nodes.values()}
    assert len(orders) == 1 and set(orders.pop()) == {b"via follower", b"at leader"}
    assert set(sim.acked) == {b"via follower", b"at leader"}


def test_sync_at_a_follower_waits_for_the_leaders_pending_writes():
    sim = quiet()
    sim.run_until(1000)
    lead = sim.leader()
    follower = next(n for n in sim.ids if n != lead)
    for i in range(3):
        write(sim, lead, b"w%d" % i)
    sim.run_until(sim.now + 1)  # proposed, not yet committed anywhere
    assert not sim.acked
    sim.apply(follower, sim.nodes[follower].replica.sync(sim.now, 7))
    sim.apply(lead, sim.nodes[lead].replica.sync(sim.now, 8))
    sim.run_until(sim.now + 500)
    done = {(n, token): state for n, token, state in sim.synced}
    assert set(done) == {(follower, 7), (lead, 8)}
    assert all(state == [b"w0", b"w1", b"w2"] for state in done.values())


def test_follower_session_touches_reach_the_leader():
    sim = quiet()
    sim.run_until(1000)
    lead = sim.leader()
    follower = next(n for n in sim.ids if n != lead)
    sim.nodes[follower].replica.touch(b"session 0x1")
    seen = []
    real_apply = sim.apply

    def spy(n, actions):
        seen.extend((n, a) for a in actions if type(a).__name__ == "Touched")
        real_apply(n, actions)

    sim.apply = spy
    sim.run_until(sim.now + 300)
    assert [(n, a.origin, a.data) for n, a in seen] == [(lead, follower, b"session 0x1")]


def test_leader_in_a_minority_steps_down_and_the_majority_moves_on():
    sim = quiet(nodes=5)
    sim.run_until(1000)
    old = sim.leader()
    assert old is not None
    epoch = sim.nodes[old].replica.lead.epoch
    others = [n for n in sim.ids if n != old]
    sim.partition([[old, others[0]], others[1:]])
    sim.run_until(3000)
    assert sim.nodes[old].replica.role == LOOKING
    new = sim.leader()
    assert new in others[1:] and sim.nodes[new].replica.lead.epoch > epoch
    sim.heal()
    sim.run_until(5000)
    assert sim.converged()


def test_silently_isolated_leader_notices_by_itself_and_its_late_messages_do_no_harm():
    sim = quiet()
    sim.run_until(1000)
    old = sim.leader()
    others = [n for n in sim.ids if n != old]
    sim.partition([[old], others], silent=True)
    for i in range(3):  # accepted by the old leader, never acknowledged to anyone
        sim.apply(old, sim.nodes[old].replica.propose(sim.now, b"stale %d" % i))
    sim.run_until(sim.now + 1500)
    assert sim.nodes[old].replica.role == LOOKING  # no reset told it: its syncLimit did
    assert sim.leader() in others and sim.held  # messages still waiting at the cut
    write(sim, sim.leader(), b"fresh")
    sim.run_until(sim.now + 300)
    sim.heal()
    sim.run_until(sim.now + 2000)
    assert sim.converged()
    for node in sim.nodes.values():
        assert [p for _, p in node.app.entries] == [b"fresh"]


def test_restart_recovers_log_and_snapshot_and_catches_up():
    sim = quiet(compact_chance=1.0)
    sim.run_until(1000)
    for i in range(6):
        write(sim, sim.leader(), b"w%d" % i)
        sim.run_until(sim.now + 50)
    victim = next(n for n in sim.ids if n != sim.leader())
    sim.crash(victim)
    write(sim, sim.leader(), b"while down")
    sim.run_until(sim.now + 200)
    sim.restart(victim)
    restart = [e for e in sim.trace if e["event"] == "restart" and e["node"] == victim][-1]
    assert restart["pos"] > 0  # it came back from its own snapshot
    sim.run_until(sim.now + 2000)
    assert sim.converged()
    assert [p for _, p in sim.nodes[victim].app.entries][-1] == b"while down"


def test_single_server_ensemble_commits_alone():
    sim = quiet(nodes=1)
    sim.run_until(100)
    assert sim.leader() == 1
    write(sim, 1, b"solo")
    sim.run_until(200)
    assert sim.acked and sim.nodes[1].app.entries[0][1] == b"solo"


def test_errors_a_server_sees():
    r = make_replica("zab", 1, [1, 2, 3], ReplicaConfig(), Storage(SimDisk()), SimApp())
    r.start(0)
    with pytest.raises(NotLeader):
        r.propose(0, b"x")
    with pytest.raises(NotServing):
        r.submit(0, b"x")
    with pytest.raises(ValueError, match="not among the members"):
        make_replica("zab", 4, [1, 2, 3], ReplicaConfig(), Storage(SimDisk()), SimApp())
    with pytest.raises(UserError, match="unknown seeded bug 'typo'"):
        make_replica(
            "zab",
            1,
            [1, 2, 3],
            ReplicaConfig(bugs=frozenset({"typo"})),
            Storage(SimDisk()),
            SimApp(),
        )
    with pytest.raises(UserError, match="unknown replication protocol 'raft'"):
        make_replica("raft", 1, [1, 2, 3], ReplicaConfig(), Storage(SimDisk()), SimApp())
