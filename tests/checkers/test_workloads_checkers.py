"""Set, counter, unique-id, queue, fencing, stats and error checkers: must-fail and must-pass."""

from __future__ import annotations

from zablab.checkers.fencing import check_fencing
from zablab.checkers.stats import check_errors, check_stats
from zablab.checkers.workloads import check_counter, check_queue, check_set, check_unique_ids
from zablab.history.builder import HistoryBuilder


def set_history(final: list[int], middle: list[int] | None = None) -> HistoryBuilder:
    b = HistoryBuilder()
    b.op(0, "add", 1, 0, 10)
    b.op(1, "add", 2, 0, 10)
    b.op(2, "add", 3, 0, None)  # crashed: may or may not be there
    b.op(3, "add", 4, 5, 8, type="fail")
    if middle is not None:
        b.op(5, "read", None, 20, 30, out=middle)
    b.op(5, "read", None, 40, 50, out=final)
    return b


def test_set_valid_with_and_without_crashed_element() -> None:
    assert check_set(set_history([1, 2]).ops()).valid is True
    assert check_set(set_history([1, 2, 3]).ops()).valid is True


def test_set_lost_element() -> None:
    r = check_set(set_history([1]).ops())
    assert r.valid is False and r.details["lost"] == [2]


def test_set_element_seen_then_gone_is_lost() -> None:
    r = check_set(set_history([1, 2], middle=[1, 2, 3]).ops())
    assert r.valid is False and r.details["lost"] == [3]


def test_set_unexpected_and_failed_elements() -> None:
    r = check_set(set_history([1, 2, 99]).ops())
    assert r.valid is False and r.details["unexpected"] == [99]
    r = check_set(set_history([1, 2, 4]).ops())
    assert r.valid is False and r.details["unexpected"] == [4]


def test_set_duplicated_element() -> None:
    r = check_set(set_history([1, 2, 2]).ops())
    assert r.valid is False and r.details["duplicated-count"] == 1


def test_set_stale_read_fails_only_when_linearizable() -> None:
    h = set_history([1, 2], middle=[1]).ops()
    r = check_set(h)
    assert r.valid is True and r.details["stale"] == [2]
    assert check_set(h, linearizable=True).valid is False


def test_set_without_reads_is_unknown() -> None:
    b = HistoryBuilder().op(0, "add", 1, 0, 10)
    assert check_set(b.ops()).valid == "unknown"


def counter_history(final: int) -> HistoryBuilder:
    b = HistoryBuilder()
    b.op(0, "add", 1, 0, 10)
    b.op(1, "add", 2, 0, 10)
    b.op(2, "add", 5, 5, None)  # crashed
    b.op(3, "add", 7, 5, 9, type="fail")
    b.op(4, "read", None, 20, 30, out=final)
    return b


def test_counter_final_read_range() -> None:
    assert check_counter(counter_history(3).ops()).valid is True
    assert check_counter(counter_history(8).ops()).valid is True
    for bad in (2, 9, 10):
        r = check_counter(counter_history(bad).ops())
        assert r.valid is False, bad
        assert r.details["errors"][0]["lower"] == 3 and r.details["errors"][0]["upper"] == 8


def test_counter_stale_midway_read_only_fails_when_linearizable() -> None:
    b = HistoryBuilder()
    b.op(0, "add", 1, 0, 10)
    b.op(4, "read", None, 20, 30, out=0)  # stale: legal for ZooKeeper
    b.op(1, "add", 1, 40, 50)
    b.op(4, "read", None, 60, 70, out=2)
    assert check_counter(b.ops()).valid is True
    assert check_counter(b.ops(), linearizable=True).valid is False


def test_counter_read_from_the_future_fails() -> None:
    b = HistoryBuilder()
    b.op(4, "read", None, 0, 5, out=1)
    b.op(0, "add", 1, 10, 20)
    assert check_counter(b.ops()).valid is False


def test_unique_ids() -> None:
    b = HistoryBuilder()
    for i, v in enumerate([1, 2, 3]):
        b.op(i, "generate", None, i * 10, i * 10 + 5, out=v)
    assert check_unique_ids(b.ops()).valid is True
    b.op(9, "generate", None, 50, 55, out=2)
    r = check_unique_ids(b.ops())
    assert r.valid is False and r.details["duplicated"] == {"2": 2}


def queue_history() -> HistoryBuilder:
    b = HistoryBuilder()
    b.op(0, "enqueue", "a", 0, 10)
    b.op(1, "enqueue", "b", 0, 10)
    b.op(2, "enqueue", "c", 0, None)  # crashed
    b.op(3, "dequeue", None, 20, 30, out="a")
    return b


def test_queue_valid_with_drain() -> None:
    b = queue_history().op(4, "drain", None, 40, 50, out=["b"])
    assert check_queue(b.ops()).valid is True


def test_queue_lost_element() -> None:
    b = queue_history().op(4, "drain", None, 40, 50, out=[])
    r = check_queue(b.ops())
    assert r.valid is False and r.details["lost"] == ["b"]


def test_queue_without_drain_is_unknown_not_lost() -> None:
    assert check_queue(queue_history().ops()).valid == "unknown"


def test_queue_duplicated_and_unexpected() -> None:
    b = queue_history().op(4, "drain", None, 40, 50, out=["b", "a"])
    assert check_queue(b.ops()).details["duplicated"] == {"'a'": 2}
    assert check_queue(b.ops()).valid is False
    b = queue_history().op(4, "drain", None, 40, 50, out=["b", "zz"])
    r = check_queue(b.ops())
    assert r.valid is False and r.details["unexpected"] == ["zz"]


def fenced() -> HistoryBuilder:
    b = HistoryBuilder()
    b.op(0, "acquire", None, 0, 10, out=1)
    b.op(0, "write", [1, "x"], 20, 30)
    b.op(0, "release", None, 40, 50)
    b.op(1, "acquire", None, 45, 60, out=2)
    b.op(1, "write", [2, "y"], 70, 80)
    return b


def test_fencing_valid() -> None:
    r = check_fencing(fenced().ops(), exclusive=True)
    assert r.valid is True, r.details


def test_fencing_stale_token_accepted() -> None:
    b = fenced().op(0, "write", [1, "late"], 90, 100)
    r = check_fencing(b.ops())
    assert r.valid is False and r.details["failures"] == ["stale-token-accepted"]
    # refused: that is what fencing is for
    ok = fenced().op(0, "write", [1, "late"], 90, 100, type="fail")
    assert check_fencing(ok.ops()).valid is True


def test_fencing_token_reused_and_decreasing() -> None:
    b = fenced().op(2, "acquire", None, 90, 100, out=2)
    assert "token-reused" in check_fencing(b.ops()).details["failures"]
    b = fenced().op(2, "acquire", None, 90, 100, out=0)
    assert "token-decreased" in check_fencing(b.ops()).details["failures"]


def test_fencing_unknown_token() -> None:
    b = fenced().op(3, "write", [7, "z"], 90, 100)
    assert "unknown-token" in check_fencing(b.ops()).details["failures"]


def test_overlapping_holds_fail_only_when_exclusive() -> None:
    b = HistoryBuilder()
    b.op(0, "acquire", None, 0, 10, out=1)
    b.op(1, "acquire", None, 15, 20, out=2)  # while 0 still holds it
    b.op(0, "release", None, 30, 40)
    b.op(1, "release", None, 50, 60)
    r = check_fencing(b.ops())
    assert r.valid is True and r.details["overlapping-holds-count"] == 1
    assert check_fencing(b.ops(), exclusive=True).valid is False


def test_stats_fails_when_some_f_never_succeeds() -> None:
    b = HistoryBuilder()
    b.op(0, "read", None, 0, 10, out=1)
    b.op(1, "write", 2, 0, 10, type="fail", error="timeout")
    b.op(2, "write", 3, 0, None)
    r = check_stats(b.ops())
    assert r.valid is False and r.details["never-succeeded"] == ["write"]
    assert r.details["by-f"]["write"] == {
        "count": 2,
        "ok-count": 0,
        "fail-count": 1,
        "info-count": 1,
        "ok-fraction": 0.0,
    }
    b.op(1, "write", 4, 20, 30)
    assert check_stats(b.ops()).valid is True


def test_errors_grouped_and_unhandled_fail() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, type="fail", error="bad-version")
    b.op(1, "write", 2, 0, 10, type="info", error="connection-loss: socket closed")
    b.op(2, "write", 3, 0, 10, type="info", error="connection-loss: timeout")
    r = check_errors(b.ops())
    assert r.valid is True
    assert r.details["errors"]["connection-loss"]["count"] == 2
    b.op(3, "read", None, 20, 30, type="info", exception="KeyError: 'x'")
    r = check_errors(b.ops())
    assert r.valid is False and r.details["unhandled"]["KeyError"]["count"] == 1


def _linearizable_run(seed: int) -> tuple[list, list]:
    """A counter and a set run by an atomic object; ops overlap, each takes effect inside."""
    import random

    rnd = random.Random(seed)
    cb, sb = HistoryBuilder(), HistoryBuilder()
    total, elements, busy = 0, [], [-1] * 4
    for step in range(60):
        t = 100 * (step + 1)  # the moment this op takes effect
        p = rnd.randrange(4)
        if busy[p] >= t:
            continue
        start, end = max(busy[p] + 1, t - rnd.randint(0, 250)), t + rnd.randint(0, 250)
        busy[p] = end
        crashed = rnd.random() < 0.1
        if rnd.random() < 0.5:
            d = rnd.randint(-3, 5)
            happened = not crashed or rnd.random() < 0.5
            total += d if happened else 0
            cb.op(p, "add", d, start, None if crashed else end)
            if happened:
                elements.append(step)
            sb.op(p, "add", step, start, None if crashed else end)
        else:
            cb.op(p, "read", None, start, end, out=total)
            sb.op(p, "read", None, start, end, out=list(elements))
        if crashed:
            busy[p] = 10**9  # the process is gone
    return cb.ops(), sb.ops()


def test_linearizable_runs_pass_counter_and_set() -> None:
    for seed in range(200):
        counter_ops, set_ops = _linearizable_run(seed)
        assert check_counter(counter_ops, linearizable=True).valid is True, seed
        assert check_set(set_ops, linearizable=True).valid in (True, "unknown"), seed
