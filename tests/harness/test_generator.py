"""Concurrency specs and the shared schedule."""

from __future__ import annotations

import threading

import pytest

from zablab.errors import UserError
from zablab.harness.generator import Schedule, parse_concurrency


def test_parse_concurrency():
    assert parse_concurrency("10", 5) == 10
    assert parse_concurrency("2n", 5) == 10
    assert parse_concurrency(3, 1) == 3
    for bad in ("0", "x", "n", "-1n"):
        with pytest.raises(UserError):
            parse_concurrency(bad, 3)


def test_schedule_stops_all_workers_at_once():
    s = Schedule(time_limit=60, rate=1.0)  # one op a second: workers would wait a long time
    turns: list[bool] = []
    ts = [threading.Thread(target=lambda: turns.append(s.wait_turn())) for _ in range(5)]
    for t in ts:
        t.start()
    s.stop.set()
    for t in ts:
        t.join(10)
    assert not any(t.is_alive() for t in ts)
    assert turns.count(False) >= 4  # at most the first slot was granted before the stop


def test_unlimited_rate_and_time_limit():
    s = Schedule(time_limit=0)
    assert s.wait_turn() is False
    s = Schedule(time_limit=60)
    assert s.wait_turn() is True
