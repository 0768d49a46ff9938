"""The election lab's parts, tests and points."""

from __future__ import annotations

from zablab.labs.engine import Lab, Part, Test

from . import tests as t

PARTS = (
    Part("smallest", "scheme 1: the smallest ephemeral sequential node leads"),
    Part("unique", "scheme 2: a race to create one ephemeral node"),
    Part("failover", "a primary/standby service with fencing tokens, under real faults"),
)

# every test starts its own ensemble (about a second); failover tests run for seconds more
TESTS = (
    Test("api.signatures", "smallest", 2, t.api_signatures, tags=("given",)),
    Test(
        "smallest.one_leader",
        "smallest",
        4,
        t.smallest_one_leader,
        seeds=1,
        hidden_points=2,
        timeout=30,
    ),
    Test("smallest.succession", "smallest", 4, t.smallest_succession, timeout=30),
    Test("smallest.no_herd", "smallest", 5, t.smallest_no_herd, timeout=30),
    Test("smallest.lost_reply", "smallest", 3, t.smallest_lost_reply, timeout=30),
    Test("unique.one_leader", "unique", 3, t.unique_one_leader, hidden_points=2, timeout=30),
    Test("unique.rerace", "unique", 5, t.unique_rerace, timeout=30),
    Test("unique.wakes_all", "unique", 3, t.unique_wakes_all, timeout=30),
    Test("failover.kill_primary", "failover", 6, t.failover_kill_primary, timeout=45),
    Test("failover.zombie_is_fenced", "failover", 8, t.failover_zombie_is_fenced, timeout=45),
    Test(
        "failover.partition_stops_primary",
        "failover",
        8,
        t.failover_partition_stops_primary,
        timeout=45,
    ),
    Test(
        "failover.unique_zombie_is_fenced",
        "failover",
        4,
        t.failover_unique_zombie_is_fenced,
        hidden=True,
        timeout=45,
    ),
    Test(
        "failover.zk_leader_killed", "failover", 5, t.failover_unique_zk_leader_killed, timeout=45
    ),
)

LAB = Lab(
    name="election",
    title="Leader election and primary/standby failover",
    package="zablab.labs.election",
    parts=PARTS,
    tests=TESTS,
    student_files=("election.py",),
    given_points=2,
    summary="Two election schemes over ZooKeeper and a fenced primary/standby, under faults.",
)
