"""The election checker: histories it must reject (overlap, stale token accepted, slow
failover, herd, orphans, work while disconnected) and ones it must pass."""

from __future__ import annotations

from typing import Any

from zablab.checkers.election import check_election
from zablab.checkers.registry import get_checker
from zablab.history.builder import HistoryBuilder
from zablab.history.jsonl import Op

S = 1_000_000_000


def resource(events: list[tuple[float, str, Any, bool]], **extra: Any) -> list[Op]:
    """Writes as the fenced resource logs them: (time s, leader, token, accepted)."""
    ops = []
    for i, (t, leader, token, ok) in enumerate(events):
        ops.append(
            Op(
                i,
                int(t * S),
                "ok" if ok else "fail",
                leader,
                "write",
                f"w{i}",
                {"token": token, "leader": leader, "session": f"s-{leader}", **extra},
            )
        )
    return ops


def merge(*lists: list[Op]) -> list[Op]:
    out = sorted((o for ops in lists for o in ops), key=lambda o: o.time)
    for i, o in enumerate(out):
        o.index = i
    return out


def lose(t: float, primary: str | None) -> list[Op]:
    v = {"primary": primary} if primary else None
    return [Op(0, int(t * S), "info", "nemesis", "lose-primary", v)]


def handover() -> list[Op]:
    """c1 leads with token 5; it is lost at 1 s; c2 leads with 9 from 2.5 s; c1's late write
    at 4 s is refused."""
    return merge(
        resource(
            [
                (0.1, "c1", 5, True),
                (0.9, "c1", 5, True),
                (2.5, "c2", 9, True),
                (3.0, "c2", 9, True),
                (4.0, "c1", 5, False),
                (4.5, "c2", 9, True),
            ]
        ),
        lose(1.0, "c1"),
    )


def test_clean_handover_is_valid() -> None:
    r = check_election(handover(), session_timeout=2.0)
    assert r.valid is True, r.details
    assert r.details["failover-s"] == [1.5]
    assert r.details["writes-rejected"] == 1 and r.details["leaderships"] == 2


def test_nothing_to_judge_is_unknown() -> None:
    r = check_election([Op(0, 0, "info", "nemesis", "kill", None)])
    assert r.valid == "unknown" and "nothing to judge" in r.details["reason"]


def test_stale_token_accepted_is_rejected() -> None:
    ops = resource([(0.1, "c1", 5, True), (2.5, "c2", 9, True), (4.0, "c1", 5, True)])
    r = check_election(ops)
    assert r.valid is False
    assert "stale-token-accepted" in r.details["failures"]
    assert "token 5" in r.details["stale-token-accepted"][0]["detail"]


def test_unfenced_zombie_overlap_names_both_leaders_with_times() -> None:
    ops = resource(
        [
            (0.1, "c1", None, True),
            (2.5, "c2", None, True),
            (3.0, "c2", None, True),
            (4.0, "c1", None, True),
        ]
    )
    r = check_election(ops)
    assert r.valid is False and r.details["failures"] == ["overlapping-leaders"]
    o = r.details["overlapping-leaders"][0]
    assert [x["leader"] for x in o["leaders"]] == ["c1", "c2"]
    assert o["leaders"][0]["last_write_s"] == 4.0 and o["leaders"][1]["first_write_s"] == 2.5
    assert "c1" in o["detail"] and "4.0 s" in o["detail"] and "2.5 s" in o["detail"]
    assert r.details["unfenced-writes-accepted"] == 4


def test_same_leader_twice_with_new_tokens_is_no_overlap() -> None:
    ops = resource([(0.1, "c1", 1, True), (1.0, "c2", 2, True), (2.0, "c1", 3, True)])
    assert check_election(ops).valid is True


def test_one_token_for_two_leaders_is_rejected() -> None:
    ops = resource([(0.1, "c1", 0, True), (1.0, "c2", 0, True)])
    r = check_election(ops)
    assert r.valid is False and "token-shared" in r.details["failures"]


def test_client_intervals_count_only_definite_overlaps() -> None:
    b = HistoryBuilder()
    b.op(1, "write", "a", 0, 4, token=None, leader="p1", session="s1")
    b.op(2, "write", "b", 5, 20, token=None, leader="p2", session="s2")
    b.op(1, "write", "c", 15, 30, token=None, leader="p1", session="s1")  # concurrent with b
    assert check_election(b.ops()).valid is True
    b.op(1, "write", "d", 31, 40, token=None, leader="p1", session="s1")  # after b completed
    assert check_election(b.ops()).valid is False


def test_slow_failover_is_rejected() -> None:
    ops = merge(resource([(0.1, "c1", 5, True), (6.0, "c2", 9, True)]), lose(1.0, "c1"))
    r = check_election(ops, session_timeout=2.0)
    assert r.valid is False and r.details["failures"] == ["slow-failover"]
    assert "5.00 s" in r.details["slow-failover"][0]["detail"]


def test_no_new_primary_at_all_is_rejected_once_the_bound_has_passed() -> None:
    tail = [Op(0, 9 * S, "ok", "observer", "candidates", [], {"live_sessions": []})]
    ops = merge(resource([(0.1, "c1", 5, True), (1.5, "c1", 5, True)]), lose(1.0, "c1"), tail)
    r = check_election(ops, session_timeout=2.0)
    assert r.valid is False and "no new primary" in r.details["slow-failover"][0]["detail"]


def test_the_lost_primary_writing_on_does_not_count_as_failover() -> None:
    ops = merge(
        resource([(0.1, "c1", 5, True), (1.5, "c1", 5, True), (2.0, "c2", 9, True)]),
        lose(1.0, "c1"),
    )
    r = check_election(ops, session_timeout=2.0)
    assert r.details["failover-s"] == [1.0]


def test_liveness_can_be_switched_off() -> None:
    ops = merge(resource([(0.1, "c1", 5, True), (9.0, "c2", 9, True)]), lose(1.0, "c1"))
    assert check_election(ops, session_timeout=2.0, liveness=False).valid is True


def wakeups(scheme: str, waiters: int, woken: int) -> list[Op]:
    return [
        Op(
            0,
            0,
            "ok",
            "observer",
            "wakeups",
            {"scheme": scheme, "waiters": waiters, "woken": woken},
        )
    ]


def test_herd_on_smallest_node_scheme_is_rejected() -> None:
    r = check_election(wakeups("smallest", 4, 4))
    assert r.valid is False and r.details["failures"] == ["herd"]
    assert "woke 4 of 4" in r.details["herd"][0]["detail"]
    assert check_election(wakeups("smallest", 4, 1)).valid is True


def test_unique_node_scheme_must_wake_every_loser() -> None:
    assert check_election(wakeups("unique", 4, 4)).valid is True
    r = check_election(wakeups("unique", 4, 0))
    assert r.valid is False and r.details["failures"] == ["not-all-woken"]


def test_orphan_candidate_node_is_rejected() -> None:
    listing = [
        {"path": "/e/n_0000000003", "owner": "0x3"},
        {"path": "/e/n_0000000004", "owner": "0x4"},
    ]
    ok = Op(0, 0, "ok", "observer", "candidates", listing[1:], {"live_sessions": ["0x4"]})
    assert check_election([ok]).valid is True
    bad = Op(0, 0, "ok", "observer", "candidates", listing, {"live_sessions": ["0x4"]})
    r = check_election([bad])
    assert r.valid is False and "/e/n_0000000003 (owner 0x3)" in r.details["orphans"][0]["detail"]


def test_working_while_suspended_is_rejected_after_the_grace() -> None:
    ops = resource([(0.1, "c1", 5, True)], conn_state="SUSPENDED", state_age_ms=900)
    r = check_election(ops, grace_ms=200)
    assert r.valid is False and r.details["failures"] == ["worked-while-disconnected"]
    quick = resource([(0.1, "c1", 5, True)], conn_state="SUSPENDED", state_age_ms=50)
    assert check_election(quick, grace_ms=200).valid is True


def test_too_many_leaderships_to_compare_is_unknown(monkeypatch: Any) -> None:
    import zablab.checkers.election as mod

    monkeypatch.setattr(mod, "MAX_TERMS", 2)
    ops = resource([(0.1, "c1", 1, True), (1.0, "c2", 2, True), (2.0, "c3", 3, True)])
    r = check_election(ops)
    assert r.valid == "unknown" and "more than the 2" in r.details["reason"]


def test_registered_for_zablab_check() -> None:
    r = get_checker("election")(handover(), {"session_timeout": 2.0})
    assert r.valid is True and r.checker == "election"
