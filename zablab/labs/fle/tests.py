"""The visible tests of the fle lab. `zablab lab test fle --dir DIR` runs them against
DIR/election.py; this file is a copy for you to read (the grader uses its own).

Unit tests drive one Election by hand (finalize wait 10 ms); the sim tests plug your class
into zablab's ZAB replica and run the deterministic simulator with crashes, partitions,
pauses and lost messages.
"""

from __future__ import annotations

import inspect
from typing import Any

from zablab.labs.engine import Case
from zablab.node.zab.election import Vote
from zablab.node.zab.messages import FOLLOWING, LEADING, LOOKING, Notification
from zablab.sim import SimConfig

from .harness import FINALIZE_MS, STUDENT_FILE, by_class, observe, run_election, student_scheme

FW = FINALIZE_MS
LEADER_BOUND_MS = 2500  # a first leader must be established this early in a simulated run
METHODS = ["better", "start", "on_notification", "on_timer", "next_deadline"]
INIT = ["self", "my_id", "members", "round_", "self_vote", "finalize_wait_ms",
        "max_notify_interval_ms", "ignore_zxid"]  # fmt: skip


def _cls(case: Case) -> Any:
    cls = getattr(case.student(STUDENT_FILE), "Election", None)
    assert cls is not None, f"{STUDENT_FILE} defines no class Election"
    return cls


def _new(case: Case, my_id: int, members: list[int], round_: int, vote: Vote) -> Any:
    return _cls(case)(my_id, members, round_, vote, finalize_wait_ms=FW, max_notify_interval_ms=100)


def _looking(v: Vote, round_: int) -> Notification:
    return Notification(v.leader, v.zxid, v.epoch, round_, LOOKING)


def api_signatures(case: Case) -> None:
    """Election exists, takes the replica's constructor arguments and has the methods the
    replica calls (names as in the starter)."""
    cls = _cls(case)
    assert list(inspect.signature(cls.__init__).parameters) == INIT, "constructor parameters"
    for name in METHODS:
        assert callable(getattr(cls, name, None)), f"Election has no method {name}"


def order_epoch_first(case: Case) -> None:
    """A vote with a higher epoch beats any vote of a lower epoch, whatever its zxid or id."""
    el = _new(case, 1, [1, 2, 3], 1, Vote(1, 0, 0))
    assert el.better(Vote(1, 1, 3), Vote(2, 99, 2)), "epoch 3 must beat epoch 2"
    assert not el.better(Vote(2, 99, 2), Vote(1, 1, 3)), "epoch 2 must not beat epoch 3"


def order_zxid_before_id(case: Case) -> None:
    """In one epoch the higher zxid wins and the server id only breaks ties; so the
    election picks the server with the newest history."""
    el = _new(case, 1, [1, 2, 3], 1, Vote(1, 0, 0))
    assert el.better(Vote(1, 9, 2), Vote(3, 5, 2)), "zxid 9 must beat zxid 5 whatever the ids"
    assert el.better(Vote(3, 5, 2), Vote(1, 5, 2)), "same zxid: the higher id wins"
    decided = run_election(by_class(_cls(case), FW), {1: (2, 9), 2: (2, 3), 3: (2, 7)})
    leaders = {v.leader for v in decided.values()}
    assert leaders == {1}, f"server 1 holds the newest history, but the peers chose {leaders}"


def order_total(case: Case) -> None:
    """On random votes, better() is Fast Leader Election's order: (epoch, zxid, id)."""
    el = _new(case, 1, [1, 2, 3], 1, Vote(1, 0, 0))
    for _ in range(200):
        a, b = (Vote(case.rng.randint(1, 3), case.rng.randint(0, 3), case.rng.randint(0, 2))
                for _ in range(2))  # fmt: skip
        want = (a.epoch, a.zxid, a.leader) > (b.epoch, b.zxid, b.leader)
        assert el.better(a, b) == want, f"better({a}, {b}) should be {want}"


def round_higher_resets_tally(case: Case) -> None:
    """A notification of a higher round moves us to that round, clears the votes counted so
    far and announces our (re-chosen) vote in the new round."""
    mine = Vote(1, 5, 1)
    el = _new(case, 1, [1, 2, 3], 1, mine)
    el.start(0)
    el.on_notification(1, 2, _looking(mine, 1))  # server 2 agrees: a quorum in round 1
    sends, decided = el.on_notification(2, 3, _looking(Vote(3, 1, 1), 3))
    assert decided is None and el.round == 3, f"round should be 3, is {el.round}"
    assert el.vote == mine, f"our own vote beats server 3's; we hold {el.vote}"
    assert sorted(sends) == [(2, _looking(mine, 3)), (3, _looking(mine, 3))], (
        f"we must announce our vote in round 3 to both peers; sent {sends}"
    )
    got = [el.on_timer(t)[1] for t in range(3, 3 + 3 * FW)]
    assert not any(got), "server 2's agreement was in round 1: round 3 has no quorum yet"


def round_lower_answered(case: Case) -> None:
    """A LOOKING peer in a lower round gets our vote back (so it catches up) and its vote,
    however good, changes nothing."""
    mine = Vote(1, 7, 1)
    el = _new(case, 1, [1, 2, 3], 5, mine)
    el.start(0)
    sends, decided = el.on_notification(1, 2, _looking(Vote(2, 99, 1), 2))
    assert decided is None and el.vote == mine and el.round == 5
    assert sends == [(2, _looking(mine, 5))], f"expected our vote back to server 2, got {sends}"


def round_lower_not_counted(case: Case) -> None:
    """Votes of a lower round do not count towards a quorum in ours."""
    mine = Vote(1, 7, 1)
    el = _new(case, 1, [1, 2, 3, 4, 5], 5, mine)
    el.start(0)
    el.on_notification(1, 2, _looking(mine, 4))
    el.on_notification(1, 3, _looking(mine, 4))
    el.on_notification(2, 4, _looking(mine, 5))
    got = [el.on_timer(t)[1] for t in range(2, 2 + 3 * FW)]
    assert not any(got), "servers 2 and 3 voted in round 4: round 5 has 2 votes of 5"


def adopt_better_vote_announced(case: Case) -> None:
    """In our round we switch to a better vote and announce it to every peer; a worse vote
    changes nothing and is not answered with a broadcast."""
    el = _new(case, 1, [1, 2, 3], 1, Vote(1, 3, 1))
    el.start(0)
    best = Vote(2, 7, 1)
    sends, _ = el.on_notification(1, 2, _looking(best, 1))
    assert el.vote == best, f"server 2's vote {best} beats ours; we hold {el.vote}"
    assert sorted(sends) == [(2, _looking(best, 1)), (3, _looking(best, 1))], f"sent {sends}"
    sends, _ = el.on_notification(2, 3, _looking(Vote(3, 1, 1), 1))
    assert el.vote == best and sends == [], f"a worse vote changed something: {sends}"


def decide_quorum(case: Case) -> None:
    """Once a quorum holds our vote and finalizeWait passes without a better one, we decide
    it; random histories elect the newest (every peer decides the same leader)."""
    mine = Vote(1, 5, 1)
    el = _new(case, 1, [1, 2, 3], 1, mine)
    el.start(0)
    _, decided = el.on_notification(10, 2, _looking(mine, 1))
    assert decided is None, "decided before finalizeWait"
    assert el.next_deadline() <= 10 + FW, "the deadline must come by the end of finalizeWait"
    assert el.on_timer(10 + FW)[1] == mine, "a quorum agreed and finalizeWait passed: decide"
    for _ in range(3):
        states = {i: (case.rng.randint(1, 2), case.rng.randint(0, 4)) for i in range(1, 6)}
        decided_all = run_election(by_class(_cls(case), FW), states)
        best = max(states, key=lambda i: (*states[i], i))
        assert {v.leader for v in decided_all.values()} == {best} and len(decided_all) == 5, (
            f"histories {states}: expected all five to elect {best}, got {decided_all}"
        )


def decide_waits_finalize(case: Case) -> None:
    """A quorum agreeing is not enough at once: a better vote arriving within finalizeWait
    must win instead."""
    mine = Vote(1, 5, 1)
    el = _new(case, 1, [1, 2, 3], 1, mine)
    el.start(0)
    _, decided = el.on_notification(10, 2, _looking(mine, 1))
    assert decided is None, "decided the moment a quorum agreed, without finalizeWait"
    best = Vote(3, 9, 1)
    _, decided = el.on_notification(10 + FW // 2, 3, _looking(best, 1))
    assert decided in (None, best), f"decided {decided} though {best} arrived in time"
    got = [d for t in range(10 + FW // 2, 12 + 3 * FW) if (d := el.on_timer(t)[1])]
    assert got and got[0] == best, f"expected to decide {best}, decided {got[:1]}"


def join_established_leader(case: Case) -> None:
    """A latecomer joins a leader a quorum already follows, but only once the leader itself
    says LEADING (a follower's word alone is not enough)."""
    el = _new(case, 3, [1, 2, 3], 1, Vote(3, 0, 0))
    el.start(0)
    v = Vote(1, 0x100000000, 1)
    _, decided = el.on_notification(1, 2, Notification(1, v.zxid, 1, 4, FOLLOWING))
    assert decided is None, "joined on a follower's word alone"
    _, decided = el.on_notification(2, 1, Notification(1, v.zxid, 1, 4, LEADING))
    assert decided == v, f"servers 1 (LEADING) and 2 (FOLLOWING) are a quorum; got {decided}"


def _runs(case: Case, count: int) -> list[tuple[int, int]]:
    return [(case.rng.choice((3, 5)), case.rng.randrange(1 << 30)) for _ in range(count)]


def sim_random_schedules(case: Case) -> None:
    """Plugged into the ZAB replica under random crashes, partitions and pauses: a leader
    within the bound, each established leader holds the newest history of the quorum that
    acknowledged its epoch, never two leaders in one epoch, and the cluster converges."""
    cls = _cls(case)
    with student_scheme(cls) as name:
        for nodes, seed in _runs(case, 10):
            bad, summary = observe(seed, SimConfig(nodes=nodes, election=name), LEADER_BOUND_MS)
            assert not bad, f"{nodes} servers, sim seed {seed}: {summary}\n  " + "\n  ".join(
                bad[:8]
            )


def sim_no_lost_write(case: Case) -> None:
    """Over a set of simulated runs, no write a client saw acknowledged is lost, and the
    replicas agree (the simulator's own checks). A run that never elects a leader again
    fails too: its writes cannot be checked."""
    from zablab.sim import simulate

    with student_scheme(_cls(case)) as name:
        for nodes, seed in _runs(case, 30):
            r = simulate(seed, SimConfig(nodes=nodes, election=name))
            assert r.violations == r.safety_violations, (
                f"{nodes} servers, sim seed {seed}: no leader after the heal, so the "
                "acknowledged writes cannot be checked (see sim.random_schedules)"
            )
            bad = r.safety_violations
            assert not bad, f"{nodes} servers, sim seed {seed}: " + "\n  ".join(bad[:8])
