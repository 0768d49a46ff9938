"""The recorder merges events from worker processes into one history in time order."""

from __future__ import annotations

import json

from zablab.harness.recorder import Recorder
from zablab.history.jsonl import HistoryWriter

# worker processes stamp events after they were added as sources: times here are offsets from
# a point after that
BASE = 10**12


def ev(t: int, typ: str = "invoke", p: int = 0) -> tuple:
    return (BASE + t, typ, p, "read", None, {})


def times(rec: Recorder) -> list[int]:
    return [op.time - BASE for op in rec.ops]


def test_an_event_waits_until_every_source_has_passed_its_time():
    rec = Recorder(None)
    rec.add_source("a")
    rec.add_source("b")
    rec.ingest("a", [ev(10), ev(30)], BASE + 30)
    # b might still send something stamped before 30
    rec.ingest("b", [ev(20, p=1)], BASE + 15)
    assert times(rec) == [10]
    rec.ingest("b", [], BASE + 40)
    assert times(rec) == [10, 20, 30]
    assert [op.index for op in rec.ops] == [0, 1, 2]


def test_a_late_batch_is_still_written_in_time_order():
    # b's op completed (t=20) before a's next invoke (t=25) but arrives after it: the history
    # must not say the two overlapped the other way round
    rec = Recorder(None)
    rec.add_source("a")
    rec.add_source("b")
    rec.ingest("a", [ev(25, "invoke", 0)], BASE + 26)
    rec.ingest("b", [ev(5, "invoke", 1), ev(20, "ok", 1)], BASE + 27)
    assert list(zip(times(rec), [op.type for op in rec.ops], strict=True)) == [
        (5, "invoke"),
        (20, "ok"),
        (25, "invoke"),
    ]


def test_local_events_wait_for_the_sources_and_a_finished_source_stops_holding_them():
    rec = Recorder(None)
    rec.add_source("a")
    nem = rec.record("invoke", "nemesis", "kill")
    assert rec.ops == []  # a's events up to now may still come
    rec.ingest("a", [(nem.time - 1, "ok", 0, "read", None, {})], None)  # a is done
    assert [op.process for op in rec.ops] == [0, "nemesis"]
    rec.record("info", "nemesis", "kill")  # no sources left: written at once
    assert len(rec.ops) == 3


def test_close_writes_what_a_vanished_source_held_back(tmp_path):
    path = tmp_path / "h.jsonl"
    rec = Recorder(HistoryWriter.open(path))
    rec.add_source("a")
    rec.ingest("a", [ev(1), ev(2, "ok")], BASE + 1)
    assert len(path.read_text().splitlines()) == 1  # flushed as soon as it is in order
    rec.close()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(d["index"], d["time"] - BASE, d["type"]) for d in lines] == [
        (0, 1, "invoke"),
        (1, 2, "ok"),
    ]


def test_what_comes_after_a_source_ended_or_after_close_is_dropped(tmp_path):
    path = tmp_path / "h.jsonl"
    rec = Recorder(HistoryWriter.open(path))
    rec.add_source("a")
    rec.add_source("b")
    rec.ingest("a", [ev(1)], None)
    rec.ingest("a", [ev(2)], BASE + 3)  # given up on: too late, the history went on without it
    rec.close()
    rec.ingest("b", [ev(4)], BASE + 5)
    written = [json.loads(x)["time"] - BASE for x in path.read_text().splitlines()]
    assert times(rec) == written == [1]  # the checkers judge exactly what was written
