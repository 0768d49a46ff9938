"""The linearizability search on hand-made histories whose verdict is known."""

from __future__ import annotations

from typing import Any

import pytest

from zablab.checkers.linearizable import check_linearizable, pair_ops
from zablab.checkers.models import KV, CasRegister, Register
from zablab.checkers.spec import DROP, Model, Operation
from zablab.errors import UserError
from zablab.history.jsonl import Op


def ops(*rows: tuple[Any, ...]) -> list[Operation]:
    """Rows of (process, f, value, output, status, call, ret)."""
    return [
        Operation(i, p, f, v, out, st, call, ret, invoke_index=2 * i)
        for i, (p, f, v, out, st, call, ret) in enumerate(rows)
    ]


def test_sequential_register_is_valid() -> None:
    h = ops((0, "write", 1, 1, "ok", 0, 1), (0, "read", None, 1, "ok", 2, 3))
    r = check_linearizable(h, Register())
    assert r.valid is True
    assert r.exit_code == 0


def test_stale_read_after_write_is_invalid_and_names_the_read() -> None:
    h = ops(
        (0, "write", 1, 1, "ok", 0, 1),
        (1, "write", 2, 2, "ok", 2, 3),
        (0, "read", None, 1, "ok", 4, 5),
    )
    r = check_linearizable(h, Register())
    assert r.valid is False
    assert r.details["op"]["id"] == 2
    assert r.details["op"]["describe"] == "read -> 1"
    longest = r.details["longest"][0]
    assert [o["id"] for o in longest["ops"]] == [0, 1]
    assert longest["ops"][-1]["state"] == "2"
    assert longest["blocked"] == 2


def test_concurrent_write_may_be_seen_or_not() -> None:
    h = ops(
        (0, "write", 1, 1, "ok", 0, 10),
        (1, "read", None, 1, "ok", 1, 2),
        (2, "read", None, None, "ok", 3, 4),
    )
    # the read of 1 forces the write before time 2, so nil at 3..4 is impossible
    assert check_linearizable(h, Register()).valid is False
    h2 = ops(
        (0, "write", 1, 1, "ok", 0, 10),
        (1, "read", None, None, "ok", 1, 2),
        (2, "read", None, 1, "ok", 3, 4),
    )
    assert check_linearizable(h2, Register()).valid is True


def test_crashed_write_may_take_effect_late_or_never() -> None:
    late = ops(
        (0, "write", 1, None, "info", 0, None),
        (1, "read", None, None, "ok", 5, 6),
        (1, "read", None, 1, "ok", 7, 8),
    )
    assert check_linearizable(late, Register()).valid is True
    never = ops((0, "write", 1, None, "info", 0, None), (1, "read", None, None, "ok", 5, 6))
    assert check_linearizable(never, Register()).valid is True
    before_invoke = ops((1, "read", None, 1, "ok", 0, 1), (0, "write", 1, None, "info", 2, None))
    assert check_linearizable(before_invoke, Register()).valid is False


def test_failed_write_is_dropped() -> None:
    h = ops((0, "write", 1, 1, "fail", 0, 1), (1, "read", None, 1, "ok", 2, 3))
    assert check_linearizable(h, Register()).valid is False


def test_failed_cas_is_an_observation() -> None:
    # the register holds 1 throughout, so a cas expecting 1 cannot have failed
    h = ops((0, "write", 1, 1, "ok", 0, 1), (1, "cas", [1, 2], None, "fail", 2, 3))
    assert check_linearizable(h, CasRegister()).valid is False
    h2 = ops((0, "write", 1, 1, "ok", 0, 1), (1, "cas", [3, 2], None, "fail", 2, 3))
    assert check_linearizable(h2, CasRegister()).valid is True


def flips(crashed: int, flips: int) -> list[Operation]:
    """`crashed` crashed writes of 1, then `flips` times: write 2, read 1 (each needs one)."""
    rows: list[tuple[Any, ...]] = [(p, "write", 1, None, "info", 0, None) for p in range(crashed)]
    t = 1
    for _ in range(flips):
        rows += [(99, "write", 2, 2, "ok", t, t + 1), (99, "read", None, 1, "ok", t + 2, t + 3)]
        t += 4
    return ops(*rows)


def test_interchangeable_crashed_ops_keep_the_verdict() -> None:
    # symmetry pruning tries one of the identical crashed writes at a time: all must stay usable
    assert check_linearizable(flips(8, 2), Register()).valid is True
    assert check_linearizable(flips(8, 8), Register()).valid is True
    assert check_linearizable(flips(8, 9), Register()).valid is False


def test_history_input_pairs_invokes_and_completions() -> None:
    h = [
        Op(0, 0, "invoke", 0, "write", 1),
        Op(1, 1, "invoke", 1, "read", None),
        Op(2, 2, "info", "nemesis", "start", None),
        Op(3, 3, "ok", 0, "write", 1),
        Op(4, 4, "ok", 1, "read", 1),
        Op(5, 5, "invoke", 2, "write", 2),
        Op(6, 6, "info", 2, "write", 2),
        Op(7, 7, "invoke", 1, "read", None),
        Op(8, 8, "ok", 1, "read", 2),
    ]
    paired = pair_ops(h)
    assert [(o.f, o.status, o.ret) for o in paired] == [
        ("write", "ok", 3),
        ("read", "ok", 4),
        ("write", "info", None),
        ("read", "ok", 8),
    ]
    assert check_linearizable(h, Register()).valid is True
    h[-1] = Op(8, 8, "ok", 1, "read", 3)
    assert check_linearizable(h, Register()).valid is False


def test_completion_without_invoke_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no matching invoke"):
        pair_ops([Op(0, 0, "ok", 0, "read", 1)])


def test_partitions_are_checked_separately() -> None:
    h = ops(
        (0, "append", "x", None, "ok", 0, 1),
        (1, "append", "y", None, "ok", 0, 1),
        (2, "get", None, "x", "ok", 2, 3),
        (3, "get", None, "xy", "ok", 2, 3),
    )
    for o, k in zip(h, ["a", "b", "a", "b"], strict=True):
        o.key = k
    r = check_linearizable(h, KV())
    assert r.valid is False
    assert r.details["partitions"] == 2
    assert r.details["key"] == "b"
    h[3].output = "y"
    assert check_linearizable(h, KV()).valid is True


def hard_kv(n: int = 14) -> list[Operation]:
    """n concurrent appends then an impossible read: exhaustive and exponential."""
    rows: list[tuple[Any, ...]] = [(p, "append", f"<{p}>", None, "ok", 0, 100) for p in range(n)]
    rows.append((n, "get", None, "never", "ok", 200, 201))
    h = ops(*rows)
    for o in h:
        o.key = "k"
    return h


def test_timeout_gives_unknown_not_a_guess() -> None:
    r = check_linearizable(hard_kv(), KV(), timeout=0.05)
    assert r.valid == "unknown"
    assert r.exit_code == 2
    assert "timed out" in r.details["reason"]


def test_state_limit_gives_unknown() -> None:
    r = check_linearizable(hard_kv(), KV(), max_states=1000)
    assert r.valid == "unknown"
    assert "states" in r.details["reason"]


def test_user_models_plug_in() -> None:
    class Counter(Model):
        name = "counter"

        def init(self) -> int:
            return 0

        def prepare(self, op: Operation) -> Any:
            if op.status == "fail" or (op.f == "read" and op.status != "ok"):
                return DROP
            return (op.f, op.output if op.f == "read" else op.value)

        def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
            if arg[0] == "add":
                return True, state + arg[1]
            return arg[1] == state, state

    h = ops(
        (0, "add", 1, None, "ok", 0, 10),
        (1, "add", 2, None, "ok", 0, 10),
        (2, "read", None, 2, "ok", 1, 2),
        (2, "read", None, 3, "ok", 11, 12),
    )
    assert check_linearizable(h, Counter()).valid is True
    h[2].output = 4
    assert check_linearizable(h, Counter()).valid is False


def test_read_of_a_value_never_written_fails_fast() -> None:
    # refuting 40 concurrent writes one order at a time is hopeless; the impossible read ends it
    rows: list[tuple[Any, ...]] = [(99, "read", None, 1000, "ok", 0, 2)]
    rows += [(p, "write", p, p, "ok", 1, 100) for p in range(40)]
    r = check_linearizable(ops(*rows), Register(), timeout=5)
    assert r.valid is False
    assert r.details["op"]["id"] == 0
    assert r.details["states_visited"] < 10
    assert check_linearizable(ops(*rows), Register(), timeout=0.2, prune=False).valid == "unknown"


def test_set_refutation_agrees_with_the_search() -> None:
    """The set model's refutation before the search says no more than the search would."""
    from zablab.checkers.models import SetModel
    from zablab.history.builder import HistoryBuilder

    b = HistoryBuilder()
    b.op(0, "add", 1, 0, 10).op(1, "add", 2, 5, 30).op(2, "read", None, 20, 40, out=[2])
    ops = b.ops()
    fast = check_linearizable(ops, SetModel())
    slow = check_linearizable(ops, SetModel(), prune=False)  # no refutation, plain search
    assert fast.valid is False and slow.valid is False
    assert fast.details["why"] == "it misses 1, whose add completed before it began"
    assert fast.details["op"]["f"] == "read"
    b2 = HistoryBuilder()  # the add of 1 overlaps the read: it may come after, no refutation
    b2.op(0, "add", 1, 0, 25).op(2, "read", None, 20, 40, out=[])
    assert check_linearizable(b2.ops(), SetModel()).valid is True
