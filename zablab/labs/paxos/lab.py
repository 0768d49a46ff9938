"""The paxos lab's parts, tests and points."""

from __future__ import annotations

from zablab.labs.engine import Lab, Part, Test

from . import tests as t

PARTS = (
    Part("acceptor", "the promise and accept rules, durable before replying"),
    Part("leader", "phase 1's recovery: the highest round's value per slot, no-ops in holes"),
    Part("sim", "your rules in the Multi-Paxos replica: random faults and a bounded search"),
)

# fmt: off
TESTS = (
    Test("api.signatures", "acceptor", 2, t.api_signatures, tags=("given",)),
    Test("prepare.promises_higher", "acceptor", 4, t.prepare_promises_higher),
    Test("prepare.rejects_lower", "acceptor", 4, t.prepare_rejects_lower),
    Test("prepare.returns_accepted", "acceptor", 5, t.prepare_returns_accepted),
    Test("accept.rejects_lower_ballot", "acceptor", 5, t.accept_rejects_lower_ballot),
    Test("accept.raises_promise", "acceptor", 3, t.accept_raises_promise),
    Test("accept.durable_before_reply", "acceptor", 5, t.accept_durable_before_reply),
    Test("recover.highest_round", "leader", 5, t.recover_highest_round, seeds=2),
    Test("recover.fills_holes", "leader", 3, t.recover_fills_holes),
    Test("leader.proposes_recovered", "leader", 4, t.leader_proposes_recovered),
    Test("leader.paxosrun", "leader", 3, t.leader_paxosrun, timeout=60),
    Test("sim.random_schedules", "sim", 8, t.sim_random_schedules, seeds=2, hidden_points=8,
         timeout=120),
    Test("sim.stable_leader", "sim", 4, t.sim_stable_leader, seeds=2, hidden_points=2, timeout=60),
    Test("sim.deposed_leader", "sim", 4, t.sim_deposed_leader, timeout=30),
    Test("sim.quorum_crash", "sim", 4, t.sim_quorum_crash, timeout=30),
    Test("search.schedules", "sim", 6, t.search_schedules, seeds=2, hidden_points=6, timeout=120),
)
# fmt: on

LAB = Lab(
    name="paxos",
    title="Multi-Paxos: the acceptor and the new leader's recovery",
    package="zablab.labs.paxos",
    parts=PARTS,
    tests=TESTS,
    student_files=("paxos.py",),
    given_points=2,
    summary="Paxos's acceptor rules and phase 1's recovery, plugged into a Multi-Paxos replica.",
)
