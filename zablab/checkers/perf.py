"""Latency and throughput plots with fault periods shaded (Jepsen's perf checker, on matplotlib).

Plots are drawn on `matplotlib.figure.Figure` objects, never pyplot, so no global backend state
is touched and the module is safe to use from a running harness.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from zablab.checkers.calls import Call, pair_calls
from zablab.checkers.result import Result
from zablab.history.jsonl import Op

NS = 1e9
QUANTILES = (0.5, 0.95, 0.99, 1.0)
#: nemesis fs that open a fault period, and the f that closes it (besides start-X / stop-X)
PAIRS = {
    "start": "stop",
    "partition": "heal",
    "kill": "restart",
    "pause": "resume",
    "bump-clock": "reset-clock",
    "clock-bump": "clock-reset",
}
_TYPE_MARKERS = {"ok": "o", "fail": "x", "info": "^"}
_SHADES = ("#f2a900", "#9b59b6", "#e74c3c", "#1abc9c", "#3498db", "#95a5a6")


@dataclass(frozen=True, slots=True)
class Interval:
    """A fault period in ns since test start; `name` is the fault (e.g. "partition")."""

    start: int
    end: int
    name: str


def _fault_name(f: str) -> tuple[str, str] | None:
    """("open"|"close", fault name) for fs of the start-X / stop-X shape or in PAIRS."""
    for prefix, role in (("start-", "open"), ("stop-", "close")):
        if f.startswith(prefix):
            return role, f[len(prefix) :]
    if f in PAIRS:
        return "open", f
    for opener, closer in PAIRS.items():
        if f == closer:
            return "close", opener
    return None


def nemesis_intervals(ops: Sequence[Op]) -> list[Interval]:
    """Fault periods from the nemesis's ops.

    A period runs from the invoke of an opening op (start-X, or an f in PAIRS such as
    partition) to the completion of the matching closing op (stop-X, heal); one never closed
    lasts until the history ends. Any other nemesis op is a period of its own, from its invoke
    to its completion (e.g. a clock strobe that runs for seconds).
    """
    end_of_history = max((op.time for op in ops), default=0)
    nem = [c for c in pair_calls(ops, include_nemesis=True) if c.process == "nemesis"]
    nem.sort(key=lambda c: c.start)
    open_: dict[str, Call] = {}
    out: list[Interval] = []
    for c in nem:
        role = _fault_name(c.f)
        if role is None:
            done = c.complete.time if c.complete is not None else end_of_history
            out.append(Interval(int(c.start), int(done), c.f))
            continue
        kind, name = role
        if kind == "open":
            open_.setdefault(name, c)
            continue
        opener = open_.pop(name, None)
        if opener is None:
            continue  # a stop without a start (e.g. the final heal): nothing was running
        closed = c.complete.time if c.complete is not None else c.start
        out.append(Interval(int(opener.start), int(closed), name))
    for name, c in open_.items():
        out.append(Interval(int(c.start), int(end_of_history), name))
    out.sort(key=lambda i: (i.start, i.end))
    return out


@dataclass(frozen=True, slots=True)
class Point:
    """A completed op: when it was invoked (s) and how long it took (ms)."""

    time: float
    latency: float
    f: str
    type: str


def latency_points(ops: Iterable[Op]) -> list[Point]:
    """Completed client ops; crashed ops that never completed have no latency and are left out."""
    pts = []
    for c in pair_calls(ops):
        if c.complete is None or c.complete is c.invoke:
            continue
        pts.append(Point(c.start / NS, (c.complete.time - c.start) / 1e6, c.f, c.type))
    return pts


def quantile(xs: Sequence[float], q: float) -> float:
    """The q-quantile by nearest rank (q=1 is the maximum)."""
    s = sorted(xs)
    if not s:
        return math.nan
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def _shade(ax: Any, intervals: Sequence[Interval]) -> None:
    colors: dict[str, str] = {}
    for iv in intervals:
        first = iv.name not in colors
        color = colors.setdefault(iv.name, _SHADES[len(colors) % len(_SHADES)])
        label = iv.name if first else None
        ax.axvspan(iv.start / NS, iv.end / NS, color=color, alpha=0.18, lw=0, label=label)


def _axes(title: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(10, 4.5), dpi=100)
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: Figure, ax: Any, path: Path) -> Path:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_latency_raw(ops: Sequence[Op], path: str | Path) -> Path:
    """Every op's latency against its invoke time; colour by f, marker by outcome."""
    fig, ax = _axes("Latency (raw)", "latency (ms)")
    _shade(ax, nemesis_intervals(ops))
    groups: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for p in latency_points(ops):
        groups[(p.f, p.type)].append(p)
    for (f, typ), pts in sorted(groups.items()):
        ax.scatter(
            [p.time for p in pts],
            [max(p.latency, 1e-3) for p in pts],
            s=6,
            marker=_TYPE_MARKERS.get(typ, "."),
            label=f"{f} {typ}",
        )
    if groups:
        ax.set_yscale("log")
    return _save(fig, ax, Path(path))


def _buckets(ops: Sequence[Op], n: int = 40) -> float:
    times = [op.time for op in ops]
    span = (max(times) - min(times)) / NS if times else 1.0
    return max(span / n, 1e-3)


def plot_latency_quantiles(
    ops: Sequence[Op], path: str | Path, window: float | None = None
) -> Path:
    """Latency quantiles per f over time windows of `window` seconds (default: 1/40 of the run)."""
    dt = window or _buckets(ops)
    fig, ax = _axes(f"Latency quantiles ({dt:.3g} s windows)", "latency (ms)")
    _shade(ax, nemesis_intervals(ops))
    by_f: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for p in latency_points(ops):
        by_f[p.f][int(p.time // dt)].append(p.latency)
    for f, buckets in sorted(by_f.items()):
        ks = sorted(buckets)
        for q in QUANTILES:
            ax.plot(
                [(k + 0.5) * dt for k in ks],
                [max(quantile(buckets[k], q), 1e-3) for k in ks],
                marker=".",
                lw=1,
                label=f"{f} q{q}",
            )
    if by_f:
        ax.set_yscale("log")
    return _save(fig, ax, Path(path))


def plot_rate(ops: Sequence[Op], path: str | Path, window: float | None = None) -> Path:
    """Completions per second per f and outcome."""
    dt = window or _buckets(ops)
    fig, ax = _axes(f"Throughput ({dt:.3g} s windows)", "ops/s")
    _shade(ax, nemesis_intervals(ops))
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for c in pair_calls(ops):
        if c.complete is None:
            continue
        counts[(c.f, c.type)][int(c.complete.time / NS // dt)] += 1
    for (f, typ), b in sorted(counts.items()):
        ks = range(min(b), max(b) + 1)
        ax.plot(
            [(k + 0.5) * dt for k in ks], [b.get(k, 0) / dt for k in ks], lw=1, label=f"{f} {typ}"
        )
    return _save(fig, ax, Path(path))


def render_perf(ops: Sequence[Op], out_dir: str | Path) -> dict[str, Path]:
    """Write latency-raw.png, latency-quantiles.png and rate.png into out_dir."""
    d = Path(out_dir)
    ops = list(ops)
    return {
        "latency-raw": plot_latency_raw(ops, d / "latency-raw.png"),
        "latency-quantiles": plot_latency_quantiles(ops, d / "latency-quantiles.png"),
        "rate": plot_rate(ops, d / "rate.png"),
    }


def check_perf(ops: Sequence[Op], out_dir: str | Path) -> Result:
    """Not a verdict: draws the plots and summarises latency; valid unless nothing completed."""
    ops = list(ops)
    files = render_perf(ops, out_dir)
    pts = latency_points(ops)
    lat = [p.latency for p in pts if p.type == "ok"]
    details: dict[str, Any] = {
        "files": {k: str(v) for k, v in files.items()},
        "fault-periods": [[i.start, i.end, i.name] for i in nemesis_intervals(ops)],
        "ok-latency-ms": {f"q{q}": quantile(lat, q) for q in QUANTILES} if lat else {},
    }
    if not lat:
        return Result("perf", "unknown", {**details, "reason": "no op completed ok"})
    return Result("perf", True, details)
