"""The fle lab's parts, tests and points."""

from __future__ import annotations

from zablab.labs.engine import Lab, Part, Test

from . import tests as t

PARTS = (
    Part("order", "the total order on votes: (epoch, zxid, server id)"),
    Part("rounds", "rounds: a higher one resets the tally, a lower one is answered"),
    Part("decide", "adopting, announcing, deciding after finalizeWait, joining a leader"),
    Part("sim", "your election in the ZAB replica under random faults"),
)

# fmt: off
TESTS = (
    Test("api.signatures", "order", 2, t.api_signatures, tags=("given",)),
    Test("order.epoch_first", "order", 3, t.order_epoch_first),
    Test("order.zxid_before_id", "order", 4, t.order_zxid_before_id),
    Test("order.total", "order", 2, t.order_total, seeds=2),
    Test("round.higher_resets_tally", "rounds", 4, t.round_higher_resets_tally),
    Test("round.lower_answered", "rounds", 3, t.round_lower_answered),
    Test("round.lower_not_counted", "rounds", 4, t.round_lower_not_counted),
    Test("adopt.better_vote_announced", "decide", 4, t.adopt_better_vote_announced),
    Test("decide.quorum", "decide", 3, t.decide_quorum, seeds=2),
    Test("decide.waits_finalize", "decide", 4, t.decide_waits_finalize),
    Test("join.established_leader", "decide", 4, t.join_established_leader),
    Test("sim.random_schedules", "sim", 8, t.sim_random_schedules, seeds=5, hidden_points=8, timeout=120),
    Test("sim.no_lost_write", "sim", 5, t.sim_no_lost_write, seeds=3, hidden_points=5, timeout=120),
)
# fmt: on

LAB = Lab(
    name="fle",
    title="The judge vote: Fast Leader Election",
    package="zablab.labs.fle",
    parts=PARTS,
    tests=TESTS,
    student_files=("election.py",),
    given_points=2,
    summary="Fast Leader Election's votes: order, rounds, finalizeWait; plugged into ZAB.",
)
