"""Perf plots: files are produced and readable; fault periods are computed from nemesis ops."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from zablab.checkers.perf import (
    Interval,
    check_perf,
    latency_points,
    nemesis_intervals,
    quantile,
    render_perf,
)
from zablab.history.builder import HistoryBuilder

S = 1_000_000_000  # ns per second


def run_with_faults() -> HistoryBuilder:
    b = HistoryBuilder()
    for i in range(200):
        t = i * S // 20
        typ = "ok" if i % 10 else ("fail" if i % 20 else "info")
        b.op(i % 5, "write" if i % 2 else "read", i, t, t + (i % 7 + 1) * 1_000_000, type=typ)
    b.nemesis("start-partition", 1 * S, 1 * S + 5_000_000, value={"isolated": ["n1"]})
    b.nemesis("stop-partition", 3 * S, 3 * S + 5_000_000)
    b.nemesis("kill", 4 * S, 4 * S + 1000)
    b.nemesis("restart", 5 * S, 5 * S + 1000)
    b.nemesis("strobe-clock", 6 * S, 7 * S, value={"delta": 200})
    b.nemesis("start-partition", 8 * S, 8 * S + 1000)  # never healed
    return b


def test_nemesis_intervals() -> None:
    ops = run_with_faults().ops()
    ivs = nemesis_intervals(ops)
    assert [i.name for i in ivs] == ["partition", "kill", "strobe-clock", "partition"]
    assert ivs[0] == Interval(1 * S, 3 * S + 5_000_000, "partition")
    assert ivs[1] == Interval(4 * S, 5 * S + 1000, "kill")
    assert ivs[2] == Interval(6 * S, 7 * S, "strobe-clock")
    assert ivs[3] == Interval(8 * S, max(op.time for op in ops), "partition")  # until the end


def test_stop_without_start_is_not_an_interval() -> None:
    b = HistoryBuilder().op(0, "read", None, 0, 10)
    b.nemesis("stop-partition", 20, 30)
    assert nemesis_intervals(b.ops()) == []


def test_latency_points_and_quantiles() -> None:
    b = HistoryBuilder().op(0, "read", None, 0, 2_000_000).op(1, "write", 1, 0, None)
    pts = latency_points(b.ops())
    assert [(p.f, p.latency) for p in pts] == [("read", 2.0)]
    assert quantile([5, 1, 3, 2, 4], 0.5) == 3 and quantile([5, 1, 3], 1.0) == 5


def test_plots_are_written_as_pngs(tmp_path: Path) -> None:
    files = render_perf(run_with_faults().ops(), tmp_path / "perf")
    assert set(files) == {"latency-raw", "latency-quantiles", "rate"}
    for p in files.values():
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 300 and im.size[1] > 200


def test_check_perf_summarises_and_is_unknown_without_completions(tmp_path: Path) -> None:
    r = check_perf(run_with_faults().ops(), tmp_path)
    assert r.valid is True and len(r.details["fault-periods"]) == 4
    assert r.details["ok-latency-ms"]["q1.0"] == 7.0
    empty = HistoryBuilder().op(0, "read", None, 0, None).ops()
    assert check_perf(empty, tmp_path / "e").valid == "unknown"


def test_legends_group_by_f_and_by_outcome_or_quantile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four fs with three outcomes each: the legends list 4 colours + the outcomes (or the 4
    quantiles) + the faults, not one entry per combination."""
    import zablab.checkers.perf as perf

    b = HistoryBuilder()
    for i in range(240):
        t = i * S // 20
        b.op(
            i % 5,
            ("read", "write", "cas", "add")[i % 4],
            i,
            t,
            t + 2_000_000,
            type=("ok", "fail", "info")[i // 4 % 3],
        )
    b.nemesis("kill", 1 * S, 1 * S + 10, value=["n1"])
    b.nemesis("restart", 3 * S, 3 * S + 10, value=["n1"])
    axes: dict[str, list[str]] = {}
    real_save = perf._save

    def save(fig, ax, path):  # type: ignore[no-untyped-def]
        axes[Path(path).stem] = [t.get_text() for t in ax.get_legend().get_texts()]
        return real_save(fig, ax, path)

    monkeypatch.setattr(perf, "_save", save)
    render_perf(b.ops(), tmp_path)
    fs = ["add", "cas", "read", "write"]
    assert axes["latency-raw"] == [*fs, "ok", "fail", "info", "kill"]
    assert axes["latency-quantiles"] == [*fs, "median", "95th pct", "99th pct", "max", "kill"]
    assert axes["rate"] == [*fs, "ok", "fail", "info", "kill"]
