"""The harness-side parts of checking: views of the register history, kv split, session checker."""

from __future__ import annotations

import random

from zablab.checkers.register import linearizable_view
from zablab.harness.workloads import get_workload
from zablab.harness.workloads.session import check_sessions
from zablab.history.jsonl import Op


def hist(*rows):
    """rows: (type, process, f, value, extra?) in order; times are the indices."""
    ops = []
    for i, r in enumerate(rows):
        t, p, f, v = r[:4]
        ops.append(Op(i, i * 10, t, p, f, v, dict(r[4]) if len(r) > 4 else {}))
    return ops


def test_linearizable_view_keeps_writes_successful_cas_and_final_reads_only():
    ops = hist(
        ("invoke", 0, "cas", [1, 2]),
        ("fail", 0, "cas", [1, 2], {"error": "BadVersionError"}),
        ("invoke", 1, "cas", [3, 4]),
        ("fail", 1, "cas", [3, 4], {"error": "value-mismatch"}),
        ("invoke", 2, "read", None),
        ("ok", 2, "read", 1),
        ("invoke", 4, "sync-read", None),
        ("ok", 4, "sync-read", 1),
        ("invoke", 5, "cas", [1, 3]),
        ("ok", 5, "cas", [1, 3]),
        ("invoke", 6, "write", 2),
        ("info", 6, "write", 2),
        ("invoke", 3, "sync-read", None, {"final": True}),
        ("ok", 3, "sync-read", 1, {"final": True}),
    )
    view = linearizable_view(ops)
    assert [(o.process, o.f) for o in view] == [
        (5, "cas"),
        (5, "cas"),
        (6, "write"),
        (6, "write"),
        (3, "read"),
        (3, "read"),
    ]


def test_register_catches_a_lost_write_and_accepts_a_good_history():
    w = get_workload("register", random.Random(0))
    good = hist(
        ("invoke", 0, "write", 1),
        ("ok", 0, "write", 1, {"zxid": 5}),
        ("invoke", 1, "sync-read", None, {"final": True}),
        ("ok", 1, "sync-read", 1, {"zxid": 5, "final": True, "sync": True}),
    )
    assert w.check(good).valid is True
    lost = hist(
        ("invoke", 0, "write", 1),
        ("ok", 0, "write", 1, {"zxid": 5}),
        ("invoke", 0, "write", 2),
        ("ok", 0, "write", 2),  # acknowledged, never applied
        ("invoke", 1, "sync-read", None, {"final": True}),
        ("ok", 1, "sync-read", 1, {"zxid": 5, "final": True, "sync": True}),
    )
    assert w.check(lost).valid is False


def test_kv_checks_each_key_on_its_own():
    w = get_workload("kv", random.Random(0), keys=2)
    ops = hist(
        ("invoke", 0, "write", [0, 1]),
        ("ok", 0, "write", [0, 1], {"zxid": 3}),
        ("invoke", 1, "write", [1, 7]),
        ("ok", 1, "write", [1, 7], {"zxid": 4}),
        ("invoke", 2, "sync-read", [0, None], {"final": True}),
        ("ok", 2, "sync-read", [0, 1], {"zxid": 3, "final": True, "sync": True}),
        ("invoke", 2, "sync-read", [1, None], {"final": True}),
        ("ok", 2, "sync-read", [1, 7], {"zxid": 4, "final": True, "sync": True}),
    )
    assert w.check(ops).valid is True
    bad = list(ops)
    bad[7] = Op(7, 70, "ok", 2, "sync-read", [1, 1], {"zxid": 3, "final": True, "sync": True})
    r = w.check(bad)
    assert r.valid is False
    assert any(c.checker == "linearizable key 1" and c.valid is False for c in r.children)


def test_session_checker():
    ok = hist(
        ("invoke", 0, "create", None),
        ("ok", 0, "create", "s1-0", {"session": "s1"}),
        ("invoke", 0, "read", None),
        ("ok", 0, "read", ["s1-0"], {"session": "s1"}),
        ("invoke", 9, "read", None, {"final": True}),
        ("ok", 9, "read", [], {"final": True, "session": "s9"}),
    )
    assert check_sessions(ok).valid is True
    early = list(ok)
    early[3] = Op(3, 30, "ok", 0, "read", [], {"session": "s1"})
    r = check_sessions(early)
    assert r.valid is False and r.details["errors"][0]["kind"] == "vanished-early"
    late = list(ok)
    late[5] = Op(5, 50, "ok", 9, "read", ["s1-0"], {"final": True, "session": "s9"})
    r = check_sessions(late)
    assert r.valid is False and r.details["errors"][0]["kind"] == "outlived-session"


def test_queue_element_removed_by_a_crashed_dequeue_is_not_lost():
    w = get_workload("queue", random.Random(0))
    base = [
        ("invoke", 0, "enqueue", 1),
        ("ok", 0, "enqueue", 1),
        ("invoke", 0, "enqueue", 2),
        ("ok", 0, "enqueue", 2),
        ("invoke", 1, "dequeue", None),
    ]
    drain = [
        ("invoke", 9, "drain", None, {"final": True}),
        ("ok", 9, "drain", [2], {"final": True}),
    ]
    crashed = hist(*base, ("info", 1, "dequeue", None, {"element": 1}), *drain)
    assert w.check(crashed).valid is True
    # without the crashed delete naming it, element 1 is lost
    silent = hist(*base, ("info", 1, "dequeue", None), *drain)
    assert w.check(silent).valid is False
