"""The zab lab's parts, tests and points."""

from __future__ import annotations

from zablab.labs.engine import Lab, Part, Test

from . import tests as t

PARTS = (
    Part("sync", "the leader's choice of DIFF, TRUNC+DIFF or SNAP for a follower"),
    Part("follower", "the follower: ACK only what is on disk, the epoch only after the history"),
    Part("commit", "the leader's commit rule: a quorum of ACKs, in zxid order"),
    Part("recovery", "your rules in the ZAB replica: one schedule per rule"),
    Part("sim", "your rules in the ZAB replica under random faults and a bounded search"),
)

# fmt: off
TESTS = (
    Test("api.signatures", "sync", 2, t.api_signatures, tags=("given",)),
    Test("sync.diff_prefix", "sync", 3, t.sync_diff_prefix),
    Test("sync.trunc_diverged", "sync", 4, t.sync_trunc_diverged),
    Test("sync.trunc_ahead", "sync", 2, t.sync_trunc_ahead),
    Test("sync.snap_behind", "sync", 3, t.sync_snap_behind),
    Test("sync.random_logs", "sync", 3, t.sync_random_logs, seeds=2),
    Test("follower.no_ack_before_fsync", "follower", 4, t.follower_no_ack_before_fsync, seeds=2),
    Test("follower.newleader_after_fsync", "follower", 3, t.follower_newleader_after_fsync, seeds=2),
    Test("follower.epoch_after_history", "follower", 4, t.follower_epoch_after_history, seeds=2),
    Test("follower.acks_what_is_on_disk", "follower", 2, t.follower_acks_what_is_on_disk, seeds=2),
    Test("commit.needs_quorum", "commit", 4, t.commit_needs_quorum),
    Test("commit.in_order", "commit", 3, t.commit_in_order, seeds=2),
    Test("commit.newest_possible", "commit", 2, t.commit_newest_possible),
    Test("scenario.trunc_diverged", "recovery", 4, t.scenario_trunc_diverged, timeout=20),
    Test("scenario.ack_after_fsync", "recovery", 4, t.scenario_ack_after_fsync, timeout=20),
    Test("scenario.commit_quorum", "recovery", 4, t.scenario_commit_quorum, timeout=20),
    Test("scenario.epoch_after_history", "recovery", 4, t.scenario_epoch_after_history, timeout=20),
    Test("sim.random_schedules", "sim", 8, t.sim_random_schedules, seeds=3, hidden_points=8, timeout=60),
    Test("sim.search", "sim", 5, t.sim_search, seeds=1, hidden_points=5, timeout=60),
)
# fmt: on

LAB = Lab(
    name="zab",
    title="Recovery and broadcast: ZAB's sync, ACK and commit rules",
    package="zablab.labs.zab",
    parts=PARTS,
    tests=TESTS,
    student_files=("rules.py",),
    given_points=2,
    summary="DIFF/TRUNC/SNAP, persist-before-ACK, currentEpoch after history, quorum commit.",
)
