"""The visible tests of the zab lab. `zablab lab test zab --dir DIR` runs them against
DIR/rules.py; this file is a copy for you to read (the grader uses its own).

Unit tests call your three functions on hand-made and random inputs. The scenario tests plug
your rules into zablab's ZAB replica and step three simulated servers through one schedule
each (printed when it fails); the sim tests run random schedules and a bounded search.
"""

from __future__ import annotations

import inspect
from typing import Any

from zablab.labs.engine import Case
from zablab.node.zab.rules import FollowerLog, FollowerStep, LeaderLog, SyncMode, SyncPlan
from zablab.sim import SimConfig, simulate
from zablab.sim.search import search

from .harness import (
    SEARCH_BOUNDS,
    STUDENT_FILE,
    Stuck,
    plugged_student,
    random_runs,
    show_acks,
    show_follower,
    show_log,
    show_plan,
)
from .scenarios import SCENARIOS

SIGNATURES = {
    "choose_sync": ["peer_last", "log"],
    "follower_step": ["log"],
    "commit_point": ["pending", "acks", "quorum"],
}


def z(epoch: int, counter: int) -> int:
    """A zxid: the epoch in the high 32 bits, the counter in the low ones."""
    return epoch << 32 | counter


def _hx(v: int | None) -> str:
    return "None" if v is None else hex(v)


def _mod(case: Case) -> Any:
    return case.student(STUDENT_FILE)


def api_signatures(case: Case) -> None:
    """rules.py defines choose_sync, follower_step and commit_point with the starter's
    parameters."""
    mod = _mod(case)
    for name, params in SIGNATURES.items():
        fn = getattr(mod, name, None)
        assert callable(fn), f"{STUDENT_FILE} defines no function {name}"
        got = list(inspect.signature(fn).parameters)
        assert got == params, f"{name} takes {got}, the starter's signature takes {params}"


# == choose_sync ==============================================================================

LOG = LeaderLog(0, (z(1, 1), z(1, 2), z(1, 3), z(2, 1), z(2, 2)), 10)


def _sync(case: Case, peer_last: int, log: LeaderLog, want: SyncPlan) -> None:
    got = _mod(case).choose_sync(peer_last, log)
    assert got == want, (
        f"choose_sync(peer_last={peer_last:#x}, {show_log(log)}) returned {show_plan(got)}, "
        f"expected {show_plan(want)}"
    )


def sync_diff_prefix(case: Case) -> None:
    """A follower whose last zxid is in the leader's history (or is the leader's last, or the
    zxid its snapshot ends at) holds a prefix of it: DIFF."""
    for peer in (z(1, 2), z(2, 1), z(2, 2), 0):
        _sync(case, peer, LOG, SyncPlan(SyncMode.DIFF))
    _sync(case, z(1, 5), LeaderLog(z(1, 5), (z(2, 1),), 10), SyncPlan(SyncMode.DIFF))


def sync_trunc_diverged(case: Case) -> None:
    """A follower whose last zxid the leader never had (a txn of a failed leader) must first
    be cut back to the leader's newest zxid below it: TRUNC to that zxid (then DIFF)."""
    _sync(case, z(1, 4), LOG, SyncPlan(SyncMode.TRUNC, z(1, 3)))
    _sync(case, z(1, 9), LOG, SyncPlan(SyncMode.TRUNC, z(1, 3)))
    _sync(case, z(2, 1), LeaderLog(0, (z(1, 1), z(3, 1)), 10), SyncPlan(SyncMode.TRUNC, z(1, 1)))
    _sync(case, z(1, 7), LeaderLog(z(1, 5), (z(2, 1),), 10), SyncPlan(SyncMode.TRUNC, z(1, 5)))


def sync_trunc_ahead(case: Case) -> None:
    """A follower ahead of the leader holds txns the leader never had: TRUNC to the
    leader's last zxid."""
    _sync(case, z(2, 5), LOG, SyncPlan(SyncMode.TRUNC, z(2, 2)))
    _sync(case, z(3, 1), LOG, SyncPlan(SyncMode.TRUNC, z(2, 2)))


def sync_snap_behind(case: Case) -> None:
    """DIFF replays at most the newest diff_limit entries (so the follower's last zxid must be
    the entry just before them, or newer); a follower further behind, or behind the
    leader's snapshot, gets a SNAP."""
    log = LeaderLog(0, LOG.zxids, 2)  # DIFF can replay z(2,1), z(2,2): from z(1,3) on
    _sync(case, z(1, 2), log, SyncPlan(SyncMode.SNAP))
    _sync(case, z(1, 3), log, SyncPlan(SyncMode.DIFF))
    _sync(case, 0, log, SyncPlan(SyncMode.SNAP))
    _sync(case, z(1, 1), LeaderLog(z(1, 2), (z(1, 3),), 10), SyncPlan(SyncMode.SNAP))


def _expected_sync(peer: int, log: LeaderLog) -> SyncPlan:
    history = [log.snapshot_zxid, *log.zxids]
    last = history[-1]
    if peer > last:
        return SyncPlan(SyncMode.TRUNC, last)
    replayable = history[-log.diff_limit - 1 :]
    if peer < replayable[0]:
        return SyncPlan(SyncMode.SNAP)
    if peer in history:
        return SyncPlan(SyncMode.DIFF)
    return SyncPlan(SyncMode.TRUNC, max(h for h in history if h < peer))


def sync_random_logs(case: Case) -> None:
    """On random leader logs and follower positions, choose_sync makes ZooKeeper's choice."""
    rng = case.rng
    for _ in range(300):
        zs: set[int] = set()
        for _ in range(rng.randint(0, 8)):
            zs.add(z(rng.randint(1, 3), rng.randint(1, 4)))
        ordered = sorted(zs)
        cut = rng.randint(0, len(ordered))
        snap = ordered[cut - 1] if cut else 0
        log = LeaderLog(snap, tuple(ordered[cut:]), rng.randint(1, 5))
        peer = rng.choice([0, *ordered, z(rng.randint(1, 4), rng.randint(0, 5))])
        _sync(case, peer, log, _expected_sync(peer, log))


# == follower_step ============================================================================


def _step(case: Case, log: FollowerLog) -> FollowerStep:
    got = _mod(case).follower_step(log)
    assert isinstance(got, FollowerStep), f"follower_step({show_follower(log)}) returned {got!r}"
    return got


def _random_follower(rng: Any) -> FollowerLog:
    last = rng.randint(0, 6)
    durable = rng.randint(0, last)
    history = rng.choice([None, rng.randint(0, last)])
    acked = rng.randint(0, durable) if history is not None else 0
    newleader_acked = history is not None and history <= durable and rng.random() < 0.6
    return FollowerLog(
        history=None if history is None else z(1, history),
        epoch_taken=newleader_acked or rng.random() < 0.2,
        newleader_acked=newleader_acked,
        last_zxid=z(1, last),
        durable_zxid=z(1, durable),
        acked_zxid=z(1, acked),
    )


def _history_on_disk(log: FollowerLog) -> bool:
    return log.history is not None and log.durable_zxid >= log.history


def follower_no_ack_before_fsync(case: Case) -> None:
    """A follower never ACKs a zxid beyond what is on its disk: an ACK tells the leader
    "this survives my crash", and the leader commits on a quorum of them."""
    for _ in range(400):
        log = _random_follower(case.rng)
        step = _step(case, log)
        assert step.ack is None or step.ack <= log.durable_zxid, (
            f"follower_step({show_follower(log)}) ACKs {step.ack:#x}, but only up to {log.durable_zxid:#x} is "
            "on disk"
        )


def follower_newleader_after_fsync(case: Case) -> None:
    """NEWLEADER is ACKed only once the leader's whole history (up to ``history``) is on disk,
    and then it is (or the new leader never establishes)."""
    waiting = FollowerLog(z(1, 4), False, False, z(1, 4), z(1, 2), 0)
    assert not _step(case, waiting).ack_newleader, (
        f"follower_step({show_follower(waiting)}) ACKs NEWLEADER with the history on disk only up to 0x100000002"
    )
    synced = FollowerLog(z(1, 4), False, False, z(1, 5), z(1, 4), 0)
    assert _step(case, synced).ack_newleader, (
        f"follower_step({show_follower(synced)}): the history is on disk, ACK NEWLEADER"
    )
    for _ in range(300):
        log = _random_follower(case.rng)
        if _step(case, log).ack_newleader:
            assert _history_on_disk(log), (
                f"follower_step({show_follower(log)}) ACKs NEWLEADER too early"
            )


def follower_epoch_after_history(case: Case) -> None:
    """currentEpoch takes the new leader's epoch only once its history is on disk, and no
    later than the NEWLEADER ACK: else a crash leaves a server whose vote (new epoch, short
    log) beats servers holding committed txns it lost."""
    early = FollowerLog(z(1, 4), False, False, z(1, 4), z(1, 1), 0)
    assert not _step(case, early).take_epoch, (
        f"follower_step({show_follower(early)}) takes the epoch with the history on disk only up to 0x100000001"
    )
    before = FollowerLog(None, False, False, z(1, 3), z(1, 3), 0)
    assert not _step(case, before).take_epoch, (
        f"follower_step({show_follower(before)}) takes the epoch before NEWLEADER (the history is not all here)"
    )
    for _ in range(300):
        log = _random_follower(case.rng)
        step = _step(case, log)
        if step.take_epoch:
            assert _history_on_disk(log), (
                f"follower_step({show_follower(log)}) takes the epoch too early"
            )
        if step.ack_newleader:
            assert step.take_epoch or log.epoch_taken, (
                f"follower_step({show_follower(log)}) ACKs NEWLEADER without taking the epoch"
            )


def follower_acks_what_is_on_disk(case: Case) -> None:
    """After NEWLEADER is ACKed, the follower ACKs the newest zxid on its disk whenever that
    is past what it ACKed (else the leader cannot commit)."""
    for _ in range(300):
        log = _random_follower(case.rng)
        if not log.newleader_acked:
            continue
        top = min(log.durable_zxid, log.last_zxid)
        want = top if top > log.acked_zxid else None
        got = _step(case, log).ack
        assert got == want, (
            f"follower_step({show_follower(log)}) ACKs {_hx(got)}, expected {_hx(want)}"
        )


# == commit_point =============================================================================


def _commit(case: Case, pending: list[int], acks: dict[int, int], quorum: int) -> int | None:
    got = _mod(case).commit_point(pending, acks, quorum)
    return got  # type: ignore[no-any-return]


def _expected_commit(pending: list[int], acks: dict[int, int], quorum: int) -> int | None:
    best = None
    for p in pending:
        if sum(1 for a in acks.values() if a >= p) < quorum:
            break
        best = p
    return best


def _check_commit(case: Case, pending: list[int], acks: dict[int, int], quorum: int) -> None:
    got = _commit(case, pending, acks, quorum)
    want = _expected_commit(pending, acks, quorum)
    assert got == want, (
        f"commit_point({[hex(p) for p in pending]}, {show_acks(acks)}, quorum={quorum}) "
        f"returned {_hx(got)}, expected {_hx(want)}"
    )


def commit_needs_quorum(case: Case) -> None:
    """A txn commits only once a quorum has it on disk: the leader's own ACK is one of them,
    not enough."""
    p = [z(1, 1), z(1, 2), z(1, 3)]
    _check_commit(case, p, {1: z(1, 3), 2: 0, 3: 0}, 2)
    _check_commit(case, p, {1: z(1, 3), 2: z(1, 1), 3: 0}, 2)
    _check_commit(case, p, {1: z(1, 3), 2: z(1, 3), 3: z(1, 2), 4: 0, 5: 0}, 3)
    _check_commit(case, p, {1: z(1, 3), 2: z(1, 3)}, 3)


def commit_in_order(case: Case) -> None:
    """Txns commit in zxid order: the point is the newest pending zxid such that it and every
    pending zxid before it has a quorum; on random ACKs."""
    rng = case.rng
    for _ in range(300):
        n = rng.choice((3, 5))
        pending = sorted({z(2, rng.randint(1, 9)) for _ in range(rng.randint(1, 6))})
        acks = {i: rng.choice([0, *pending]) for i in range(1, n + 1)}
        _check_commit(case, pending, acks, n // 2 + 1)


def commit_newest_possible(case: Case) -> None:
    """The point goes as far as the quorum allows, not one txn at a time."""
    p = [z(1, 1), z(1, 2), z(1, 3), z(1, 4)]
    _check_commit(case, p, {1: z(1, 4), 2: z(1, 3), 3: z(1, 1)}, 2)
    _check_commit(case, p, {1: z(1, 4), 2: z(1, 4), 3: z(1, 4)}, 2)


# == in the replica ===========================================================================


def _scenario(case: Case, name: str) -> None:
    with plugged_student(_mod(case)):
        try:
            d = SCENARIOS[name]()
        except Stuck as e:
            raise AssertionError(f"the scenario could not go on: {e}") from None
        bad = d.violations()
        picture = case.dir / f"scenario-{name}.html"
        drawn = bool(bad) and d.diagram(picture, f"scenario {name}", bad)
    assert not bad, (
        "what the scenario did:\n  " + "\n  ".join(d.story)
        + "\nwhat went wrong:\n  " + "\n  ".join(bad[:6])
        + (f"\nits messages, step by step: open {picture}" if drawn else "")
    )  # fmt: skip


def scenario_trunc_diverged(case: Case) -> None:
    """The leader logs a write nobody else gets and crashes; the others commit new writes;
    the old leader rejoins with a txn the new leader never had. Its sync must cut that txn
    off, or it delivers it beside the new history."""
    _scenario(case, "trunc_diverged")


def scenario_ack_after_fsync(case: Case) -> None:
    """One follower gets the leader's proposal but its log sync is slow; the other gets
    nothing. Then that follower and the leader crash: a write acknowledged on an ACK that
    came before the fsync is gone."""
    _scenario(case, "ack_after_fsync")


def scenario_commit_quorum(case: Case) -> None:
    """The leader's proposal reaches no follower and the leader crashes: a write committed
    on the leader's own ACK is gone."""
    _scenario(case, "commit_quorum")


def scenario_epoch_after_history(case: Case) -> None:
    """A follower receives the new leader's history and crashes after NEWLEADER, before its
    log sync lands. Had it taken the new epoch, its vote beats the server that holds every
    committed write, and that server is truncated."""
    _scenario(case, "epoch_after_history")


def sim_random_schedules(case: Case) -> None:
    """Random crashes, partitions, pauses and lost messages on 3 and 5 servers: the ZAB
    checker's properties hold (integrity, total order, agreement, local and global primary
    order, primary integrity), no acknowledged write is lost and the cluster converges."""
    with plugged_student(_mod(case)):
        for nodes, seed in random_runs(case.rng, 15):
            r = simulate(seed, SimConfig(nodes=nodes))
            assert not r.violations, (
                f"{nodes} servers, sim seed {seed}: {r.summary().splitlines()[0]}\n  "
                + "\n  ".join(r.violations[:8])
            )


def sim_search(case: Case) -> None:
    """A bounded random depth-first search over deliveries, log syncs, timers, crashes and
    restarts of 3 servers: every state it reaches keeps the ZAB properties and every
    acknowledged write, and a leader gets established."""
    with plugged_student(_mod(case)):
        res = search(SimConfig(), "dfs", SEARCH_BOUNDS, seed=case.seed)
    assert not res.violations, (
        f"{res.summary()}\n  " + "\n  ".join(res.violations[:6])
        + f"\n  the schedule: {len(res.steps)} steps"
    )  # fmt: skip
    assert res.goal_reached, f"{res.summary()}: no leader was ever established"
    assert not res.stopped.startswith("time"), (
        f"{res.summary()}: the search ran out of time before its {SEARCH_BOUNDS.max_states} "
        "states (are your functions slow?)"
    )
