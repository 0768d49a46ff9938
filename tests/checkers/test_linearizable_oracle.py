"""On small random histories the fast checker and the brute-force oracle agree.

Histories mix ok, failed and crashed ops over tiny value domains, so that both verdicts occur
(a test below makes sure of that for every model).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zablab.checkers.brute import brute_linearizable
from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import MODELS, get_model
from zablab.checkers.spec import Model, Operation

V = [1, 2]
SUBSETS: list[list[int]] = [[], [1], [2], [1, 2]]

# per model: f -> (values for the invoke, outputs an ok completion may carry)
OPS: dict[str, dict[str, tuple[list[Any], list[Any]]]] = {
    "register": {"read": ([None], [None, 1, 2]), "write": (V, [None])},
    "cas-register": {
        "read": ([None], [None, 1, 2]),
        "write": (V, [None]),
        "cas": ([[a, b] for a in [None, 1, 2] for b in V], [None]),
    },
    "zk-register": {
        "read": ([None], [None, 1, 2]),
        "sync-read": ([None], [None, 1, 2]),
        "write": (V, [None]),
        "cas": ([[a, b] for a in [None, 1, 2] for b in V], [None]),
    },
    "kv": {
        "get": ([None], ["", "x", "y", "xy", "yx"]),
        "put": (["x", "y"], [None]),
        "append": (["x", "y"], [None]),
    },
    "set": {"add": (V, [None]), "read": ([None], SUBSETS)},
    "fifo-queue": {"enqueue": (V, [None]), "dequeue": ([None], [None, 1, 2])},
    "unordered-queue": {"enqueue": (V, [None]), "dequeue": ([None], [None, 1, 2])},
    "mutex": {"acquire": ([None], [None]), "release": ([None], [None])},
}


def build(model: str, rows: list[tuple[int, int, int, int, int, int, str]]) -> list[Operation]:
    """rows: (f choice, value choice, output choice, call, duration, status dice, key)."""
    fs = OPS[model]
    names = sorted(fs)
    out = []
    for i, (fi, vi, oi, call, dur, dice, key) in enumerate(rows):
        f = names[fi % len(names)]
        values, outputs = fs[f]
        status = "ok" if dice < 6 else ("fail" if dice < 8 else "info")
        crashed = status == "info"
        out.append(
            Operation(
                i,
                i,
                f,
                values[vi % len(values)],
                None if status != "ok" else outputs[oi % len(outputs)],
                status,
                call,
                None if crashed else call + dur,
                key=key,
                final=bool(oi & 1),
            )
        )
    return out


row = st.tuples(
    st.integers(0, 5),
    st.integers(0, 7),
    st.integers(0, 7),
    st.integers(0, 12),
    st.integers(0, 6),
    st.integers(0, 9),
    st.sampled_from(["a", "b"]),
)


@pytest.mark.parametrize("model", sorted(MODELS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=6))
def test_fast_checker_agrees_with_brute_force(model: str, rows: list[Any]) -> None:
    h = build(model, rows)
    m = get_model(model)
    assert check_linearizable(h, m, timeout=20).valid == expected(h, m)


def expected(h: list[Operation], m: Model) -> object:
    """The oracle's verdict, or unknown where no completed op is left to check (the oracle
    then finds the empty linearization, which is no evidence)."""
    brute = brute_linearizable(h, m)
    if check_linearizable(h, type(m)()).details["checked"]:
        return brute
    assert brute is True
    return "unknown"


@pytest.mark.parametrize("model", sorted(MODELS))
def test_random_histories_cover_both_verdicts(model: str) -> None:
    rng = random.Random(7)
    seen = set()
    for _ in range(300):
        rows = [
            (
                rng.randrange(6),
                rng.randrange(8),
                rng.randrange(8),
                rng.randrange(13),
                rng.randrange(7),
                rng.randrange(10),
                rng.choice("ab"),
            )
            for _ in range(rng.randrange(1, 7))
        ]
        h = build(model, rows)
        verdict = check_linearizable(h, get_model(model)).valid
        assert verdict == expected(h, get_model(model))
        seen.add(verdict)
    assert {True, False} <= seen
