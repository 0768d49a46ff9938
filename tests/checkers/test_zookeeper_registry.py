"""The checker registry: names resolve, options reach the checkers, results compose."""

from __future__ import annotations

from pathlib import Path

import pytest

import zablab.checkers
from zablab.checkers.registry import CHECKERS, get_checker, run_checkers
from zablab.errors import UserError
from zablab.history.builder import HistoryBuilder


def history() -> list:
    b = HistoryBuilder()
    b.op(0, "add", 1, 0, 10)
    b.op(1, "read", None, 20, 30, out=[1, 5])  # 5 was never added
    return b.ops()


def test_unknown_checker_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown checker 'nope'"):
        get_checker("nope")


def test_composed_result_is_the_worst(tmp_path: Path) -> None:
    r = run_checkers(["stats", "set", "timeline"], history(), {"dir": tmp_path})
    assert [c.checker for c in r.children] == ["stats", "set", "timeline"]
    assert [c.valid for c in r.children] == [True, False, True]
    assert r.valid is False
    assert (tmp_path / "timeline.html").exists()


def test_file_writing_checkers_need_a_directory() -> None:
    with pytest.raises(UserError, match="output directory"):
        get_checker("perf")(history(), {})


def test_zab_checker_reads_trace_option() -> None:
    traces = Path(zablab.checkers.__file__).parent / "traces"
    zab = get_checker("zab")
    assert zab([], {"trace": traces / "zab-c-d.jsonl"}).valid is True
    assert zab([], {"trace": str(traces / "multipaxos-c-b-d.jsonl")}).valid is False
    with pytest.raises(UserError, match="trace"):
        zab([], {})


def test_every_entry_has_help() -> None:
    assert all(e.help for e in CHECKERS.values())
