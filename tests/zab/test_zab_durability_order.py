"""Regression (found by seed 14840 of a 5000-seed run): currentEpoch may be written only once
the history it vouches for is on disk, or a crash leaves a server whose vote beats the
servers holding committed txns it lost."""

from zablab.node.replica import Flush, ReplicaConfig, Send, make_zxid
from zablab.node.replica.factory import make_replica
from zablab.node.storage import SimDisk, Storage
from zablab.node.zab import messages as m
from zablab.sim.app import SimApp


def sends(actions):
    return [(a.to, a.msg) for a in actions if isinstance(a, Send)]


def follower_of_2():
    disk = SimDisk()
    st = Storage(disk)
    r = make_replica("zab", 1, [1, 2, 3], ReplicaConfig(tick_ms=100), st, SimApp())
    r.start(0)
    # Node 2 is leading (it says so, and node 3 follows it): node 1 follows at once.
    r.on_message(1, 3, m.Notification(2, 0, 0, 1, m.FOLLOWING))
    out = r.on_message(2, 2, m.Notification(2, 0, 0, 1, m.LEADING))
    assert (2, m.FollowerInfo(0, 0)) in sends(out)
    assert sends(r.on_message(3, 2, m.LeaderInfo(1))) == [(2, m.AckEpoch(0, 0))]
    return r, st, disk


def test_follower_acks_newleader_and_writes_current_epoch_only_after_the_sync():
    r, st, disk = follower_of_2()
    r.on_message(4, 2, m.Diff(make_zxid(0, 2)))
    r.on_message(4, 2, m.Proposal(make_zxid(0, 1), b"a"))
    r.on_message(4, 2, m.Proposal(make_zxid(0, 2), b"b"))
    out = r.on_message(4, 2, m.NewLeader(make_zxid(1, 0)))
    assert any(isinstance(a, Flush) for a in out) and sends(out) == []
    assert st.state("currentEpoch").read(0) == 0 and st.state("acceptedEpoch").read(0) == 1
    disk.crash()  # before the fsync: the history is gone, and so must the new epoch be
    assert Storage(disk).state("currentEpoch").read(0) == 0


def test_after_the_fsync_the_epoch_and_the_ack_follow():
    r, st, _ = follower_of_2()
    r.on_message(4, 2, m.Diff(make_zxid(0, 1)))
    r.on_message(4, 2, m.Proposal(make_zxid(0, 1), b"a"))
    r.on_message(4, 2, m.NewLeader(make_zxid(1, 0)))
    st.log.sync()
    out = r.on_flushed(5)
    assert sends(out) == [(2, m.Ack(make_zxid(1, 0)))]
    assert st.state("currentEpoch").read(0) == 1


def test_a_new_leader_writes_its_epoch_only_once_its_own_log_is_synced():
    r, st, disk = follower_of_2()
    r.on_message(4, 2, m.Diff(make_zxid(0, 1)))
    r.on_message(4, 2, m.Proposal(make_zxid(0, 1), b"a"))  # appended, not yet synced
    r.on_disconnect(5, 2)
    vote = (1, make_zxid(0, 1), 0)
    r.on_message(6, 3, m.Notification(*vote, r.round, m.LOOKING))
    r.on_message(6, 2, m.Notification(*vote, r.round, m.LOOKING))
    r.on_timer(1000)  # finalize wait over: node 1 leads
    assert r.role == m.LEADING
    r.on_message(1001, 3, m.FollowerInfo(1, 0))
    out = r.on_message(1002, 3, m.AckEpoch(0, 0))
    assert st.state("acceptedEpoch").read(0) == 2
    assert st.state("currentEpoch").read(0) == 0 and sends(out) == []
    st.log.sync()
    out = r.on_flushed(1003)
    assert st.state("currentEpoch").read(0) == 2
    assert (3, m.NewLeader(make_zxid(2, 0))) in sends(out)
