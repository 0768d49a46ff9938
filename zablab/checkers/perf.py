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

from zablab.checkers.calls import pair_calls
from zablab.checkers.faults import fault_periods
from zablab.checkers.result import Result
from zablab.history.jsonl import Op

NS = 1e9
QUANTILES = (0.5, 0.95, 0.99, 1.0)
_TYPE_MARKERS = {"ok": "o", "fail": "x", "info": "^"}
_TYPE_LINES = {"ok": "-", "fail": "--", "info": ":"}
_QUANTILE_LINES = {
    0.5: ("median", "-"),
    0.95: ("95th pct", "--"),
    0.99: ("99th pct", "-."),
    1.0: ("max", ":"),
}
_F_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
_SHADES = ("#f2a900", "#9b59b6", "#e74c3c", "#1abc9c", "#3498db", "#95a5a6")


@dataclass(frozen=True, slots=True)
class Interval:
    """A fault period in ns since test start; `name` is the fault (e.g. "partition")."""

    start: int
    end: int
    name: str


def nemesis_intervals(ops: Sequence[Op]) -> list[Interval]:
    """Fault periods from the nemesis's ops (see `zablab.checkers.faults.fault_periods`)."""
    return [Interval(p.start, p.end, p.name) for p in fault_periods(ops) if p.error is None]


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


def _f_colors(fs: Iterable[str]) -> dict[str, str]:
    return {f: _F_COLORS[i % len(_F_COLORS)] for i, f in enumerate(sorted(set(fs)))}


def _legend(ax: Any, colors: dict[str, str], styles: dict[str, dict[str, Any]]) -> None:
    """One entry per f (its colour), one per outcome or quantile (its marker or line style),
    and the fault shades: f + k entries a reader can match, not f × k."""
    from matplotlib.lines import Line2D

    shades, shade_labels = ax.get_legend_handles_labels()
    handles = [Line2D([], [], color=c, lw=5) for c in colors.values()]
    handles += [Line2D([], [], color="#444", **kw) for kw in styles.values()]
    if handles:
        ax.legend(
            handles + shades,
            [*colors, *styles, *shade_labels],
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )


def _save(fig: Figure, ax: Any, path: Path) -> Path:
    handles, labels = ax.get_legend_handles_labels()
    if handles and ax.get_legend() is None:
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
    colors = _f_colors(f for f, _ in groups)
    for (f, typ), pts in sorted(groups.items()):
        ax.scatter(
            [p.time for p in pts],
            [max(p.latency, 1e-3) for p in pts],
            s=6,
            color=colors[f],
            marker=_TYPE_MARKERS.get(typ, "."),
        )
    types = sorted({t for _, t in groups}, key=list(_TYPE_MARKERS).index)
    _legend(ax, colors, {t: {"marker": _TYPE_MARKERS[t], "ls": "none"} for t in types})
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
    colors = _f_colors(by_f)
    for f, buckets in sorted(by_f.items()):
        ks = sorted(buckets)
        for q in QUANTILES:
            ax.plot(
                [(k + 0.5) * dt for k in ks],
                [max(quantile(buckets[k], q), 1e-3) for k in ks],
                color=colors[f],
                ls=_QUANTILE_LINES[q][1],
                marker=".",
                lw=1,
            )
    if by_f:
        _legend(ax, colors, {name: {"ls": ls} for name, ls in _QUANTILE_LINES.values()})
        ax.set_yscale("log")
    return _save(fig, ax, Path(path))


def plot_rate(ops: Sequence[Op], path: str | Path, window: float | None = None) -> Path:
    """Completions per second; colour by f, line style by outcome."""
    dt = window or _buckets(ops)
    fig, ax = _axes(f"Throughput ({dt:.3g} s windows)", "ops/s")
    _shade(ax, nemesis_intervals(ops))
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for c in pair_calls(ops):
        if c.complete is None:
            continue
        counts[(c.f, c.type)][int(c.complete.time / NS // dt)] += 1
    colors = _f_colors(f for f, _ in counts)
    for (f, typ), b in sorted(counts.items()):
        ks = range(min(b), max(b) + 1)
        ax.plot(
            [(k + 0.5) * dt for k in ks],
            [b.get(k, 0) / dt for k in ks],
            color=colors[f],
            ls=_TYPE_LINES.get(typ, "-"),
            lw=1,
        )
    types = sorted({t for _, t in counts}, key=list(_TYPE_LINES).index)
    _legend(ax, colors, {t: {"ls": _TYPE_LINES[t]} for t in types})
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
