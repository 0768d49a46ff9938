"""Total-queue checker and crashed dequeues: what a crashed dequeue may have taken is not lost."""

from __future__ import annotations

import random
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from zablab.checkers.workloads import check_queue
from zablab.history.builder import HistoryBuilder
from zablab.history.jsonl import Op


def enqueued(*xs: str) -> HistoryBuilder:
    b = HistoryBuilder()
    for i, x in enumerate(xs):
        b.op(i, "enqueue", x, 0, 10)
    return b


def test_element_named_by_a_crashed_dequeue_is_possibly_dequeued_not_lost() -> None:
    b = enqueued("a", "b")
    b.op(5, "dequeue", None, 20, None, type="info", element="a")
    b.op(5, "dequeue", None, 20, 25, type="info", element="a")
    b.op(9, "drain", None, 40, 50, out=["b"])
    r = check_queue(b.ops(), named=True)
    assert r.valid is True, r.details
    assert r.details["possibly-dequeued"] == ["a"] and r.details["lost-count"] == 0


def test_crashed_dequeue_naming_another_element_does_not_excuse_a_loss() -> None:
    b = enqueued("a", "b", "c")
    b.op(5, "dequeue", None, 20, 25, type="info", element="a")
    b.op(9, "drain", None, 40, 50, out=["c"])
    for named in (True, False):
        r = check_queue(b.ops(), named=named)
        assert r.valid is False and r.details["lost"] == ["b"], r.details


def test_crashed_dequeue_naming_nothing_may_have_taken_any_one_element() -> None:
    b = enqueued("a", "b")
    b.op(5, "dequeue", None, 20, 25, type="info", error="ConnectionLoss")
    b.op(9, "drain", None, 40, 50, out=["b"])
    r = check_queue(b.ops())
    assert r.valid is True, r.details
    assert r.details["possibly-dequeued"] == ["a"]
    # a client that names the element whenever it may have removed one: nothing was removed
    r = check_queue(b.ops(), named=True)
    assert r.valid is False and r.details["lost"] == ["a"]


def test_one_crashed_dequeue_cannot_take_two_elements() -> None:
    b = enqueued("a", "b", "c")
    b.op(5, "dequeue", None, 20, 25, type="info")
    b.op(9, "drain", None, 40, 50, out=["c"])
    r = check_queue(b.ops())
    assert r.valid is False
    assert r.details["lost-count"] == 1 and r.details["lost"] == ["a", "b"]
    assert "lost-note" in r.details


def test_failed_dequeues_take_nothing() -> None:
    b = enqueued("a")
    b.op(5, "dequeue", None, 20, 25, type="fail", error="empty", element="a")
    b.op(9, "drain", None, 40, 50, out=[])
    r = check_queue(b.ops())
    assert r.valid is False and r.details["lost"] == ["a"]


def test_elements_a_crashed_drain_removed_count_as_dequeued() -> None:
    b = enqueued("a", "b", "c")
    b.op(8, "drain", None, 20, 30, type="info", elements=["a"], element="b")
    b.op(9, "drain", None, 40, 50, out=["c"])
    assert check_queue(b.ops(), named=True).valid is True
    dup = enqueued("a", "b")
    dup.op(8, "drain", None, 20, 30, type="info", elements=["a"])
    dup.op(9, "drain", None, 40, 50, out=["a", "b"])
    r = check_queue(dup.ops(), named=True)
    assert r.valid is False and r.details["duplicated"] == {"'a'": 2}


def test_without_a_drain_a_missing_element_is_unknown() -> None:
    b = enqueued("a", "b")
    b.op(5, "dequeue", None, 20, 25, out="b")
    b.op(6, "dequeue", None, 20, 25, type="info")
    assert check_queue(b.ops(), named=True).valid == "unknown"


def test_dequeued_element_of_a_crashed_enqueue_is_recovered() -> None:
    b = enqueued("a")
    b.op(1, "enqueue", "b", 0, None)
    b.op(9, "drain", None, 40, 50, out=["a", "b"])
    r = check_queue(b.ops(), named=True)
    assert r.valid is True and r.details["recovered-count"] == 1


# A model of the harness's queue: crashes before the delete remove nothing and name nothing,
# crashes during it name the element and remove it or not.


def simulate(seed: int, steps: int = 60) -> list[Op]:
    rnd = random.Random(seed)
    q: deque[int] = deque()
    b = HistoryBuilder()
    n = 0
    for step in range(steps):
        t, proc = 10 * step, 100 + step
        if rnd.random() < 0.5:
            crash = rnd.random() < 0.2
            if not crash or rnd.random() < 0.5:
                q.append(n)
            b.op(proc, "enqueue", n, t, None if crash else t + 5)
            n += 1
            continue
        kind = rnd.random()
        if not q:
            b.op(proc, "dequeue", None, t, t + 5, type="fail", error="empty")
        elif kind < 0.1:  # crashed before the delete
            b.op(proc, "dequeue", None, t, t + 5, type="info", error="ConnectionLoss")
        elif kind < 0.3:  # crashed in the delete
            x = q[0]
            if rnd.random() < 0.5:
                q.popleft()
            b.op(proc, "dequeue", None, t, t + 5, type="info", element=x)
        else:
            b.op(proc, "dequeue", None, t, t + 5, out=q.popleft())
    b.op(9, "drain", None, 10 * steps, 10 * steps + 5, out=list(q), final=True)
    return b.ops()


def drop_from_drain(ops: list[Op]) -> list[Op] | None:
    """Lose an acknowledged element that no crashed dequeue names from the drain."""
    named = {o.extra.get("element") for o in ops if o.type == "info"}
    acked = {o.value for o in ops if o.type == "ok" and o.f == "enqueue"}
    drain = ops[-1]
    for x in drain.value:
        if x in acked and x not in named:
            out = [y for y in drain.value if y != x]
            return [*ops[:-1], Op(drain.index, drain.time, "ok", 9, "drain", out, drain.extra)]
    return None


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_modelled_queue_histories_pass(seed: int) -> None:
    ops = simulate(seed)
    for named in (True, False):
        r = check_queue(ops, named=named)
        assert r.valid is True, r.details


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_losing_an_element_from_the_drain_fails(seed: int) -> None:
    ops = drop_from_drain(simulate(seed))
    if ops is not None:
        r = check_queue(ops, named=True)
        assert r.valid is False and r.details["lost-count"] == 1, r.details


def test_the_model_has_crashed_dequeues_that_took_an_element() -> None:
    took = 0
    for seed in range(30):
        ops = simulate(seed)
        drained = set(ops[-1].value)
        dequeued = {o.value for o in ops if o.type == "ok" and o.f == "dequeue"}
        named = {o.extra["element"] for o in ops if o.type == "info" and "element" in o.extra}
        took += bool(named - drained - dequeued)
    assert took > 10
    assert sum(drop_from_drain(simulate(s)) is not None for s in range(30)) > 20
