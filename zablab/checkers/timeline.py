"""A self-contained HTML timeline: one lane per process, one box per op, fault periods shaded.

Like Jepsen's timeline, it is for reading a history by eye: where ops overlapped, which ones
crashed, what a nemesis was doing at the time. No scripts or external resources, so it opens
from a CI artifact or an e-mail attachment.
"""

from __future__ import annotations

import html
import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from zablab.checkers.calls import Call, pair_calls
from zablab.checkers.perf import Interval, nemesis_intervals
from zablab.history.jsonl import Op

MAX_OPS = 20000
_COLORS = {"ok": "#6db36d", "fail": "#e0806c", "info": "#f0c04a"}
_CSS = """
body{font:13px system-ui,sans-serif;margin:1em;color:#222}
.tl{position:relative;border-left:1px solid #999}
.lane{position:relative;height:22px;border-bottom:1px solid #eee}
.name{position:absolute;left:-7em;width:6.5em;text-align:right;top:3px;font-size:11px;
 overflow:hidden;white-space:nowrap}
.op{position:absolute;top:2px;height:17px;border-radius:2px;font-size:10px;overflow:hidden;
 white-space:nowrap;box-sizing:border-box;border:1px solid rgba(0,0,0,.25);padding:0 2px}
.op.info{background-image:repeating-linear-gradient(45deg,transparent 0 4px,rgba(0,0,0,.1) 4px 8px)}
.fault{position:absolute;top:0;bottom:0;background:rgba(120,80,200,.12);
 border-left:1px dashed rgba(120,80,200,.6)}
.fault span{position:absolute;top:-16px;font-size:10px;color:#649;white-space:nowrap}
.key span{display:inline-block;padding:1px 6px;margin-right:6px;border-radius:2px}
.wrap{margin-left:7.5em;margin-top:22px}
"""


def _show(v: Any) -> str:
    try:
        return json.dumps(v, default=str)
    except (TypeError, ValueError):
        return repr(v)


def _lane_key(p: Any) -> tuple[int, str]:
    return (0, f"{p:012d}") if isinstance(p, int) else (1, str(p))


def render_timeline(ops: Sequence[Op], path: str | Path, title: str = "History") -> Path:
    """Write the timeline of `ops` to `path` and return it."""
    ops = list(ops)
    calls = pair_calls(ops)
    shown = calls[:MAX_OPS]
    t0 = min((op.time for op in ops), default=0)
    t1 = max((op.time for op in ops), default=1)
    span = max(t1 - t0, 1)

    def pct(t: float) -> float:
        return round(100.0 * (t - t0) / span, 4)

    lanes: dict[Hashable, list[Call]] = {}
    for c in shown:
        lane = c.process if isinstance(c.process, int | str) else str(c.process)
        lanes.setdefault(lane, []).append(c)
    faults = nemesis_intervals(ops)

    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(calls)} ops, {len(lanes)} processes, {(t1 - t0) / 1e9:.3f} s. "
        "Hover over an op for its details.</p>",
        "<p class='key'>",
        *(f"<span style='background:{c}'>{t}</span>" for t, c in _COLORS.items()),
        "<span class='fault' style='position:static;padding:1px 6px'>fault period</span></p>",
    ]
    if len(calls) > MAX_OPS:
        out.append(f"<p>Showing the first {MAX_OPS} of {len(calls)} ops.</p>")
    busiest = max((len(cs) for cs in lanes.values()), default=0)
    width = max(1000, 14 * busiest)  # room for every op of the busiest lane; scrolls sideways
    out.append(f"<div class='wrap'><div class='tl' style='width:{width}px'>")
    out.extend(_fault_divs(faults, pct))
    for proc in sorted(lanes, key=_lane_key):
        out.append(f"<div class='lane' data-process='{html.escape(str(proc))}'>")
        out.append(f"<div class='name'>{html.escape(str(proc))}</div>")
        for c in lanes[proc]:
            out.append(_op_div(c, t1, pct))
        out.append("</div>")
    out.append("</div></div></body></html>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join(out), encoding="utf-8")
    return p


def _fault_divs(faults: Sequence[Interval], pct: Any) -> list[str]:
    divs = []
    for iv in faults:
        left, right = pct(iv.start), pct(iv.end)
        divs.append(
            f"<div class='fault' style='left:{left}%;width:{max(right - left, 0.1)}%' "
            f"title='{html.escape(iv.name)}'><span>{html.escape(iv.name)}</span></div>"
        )
    return divs


def _op_div(c: Call, t_end: int, pct: Any) -> str:
    end = c.complete.time if c.complete is not None else t_end
    left, right = pct(c.start), pct(end)
    tip = [
        f"{c.f} {c.type}",
        f"process {c.process}",
        f"invoke value {_show(c.invoke.value)}",
    ]
    if c.complete is not None:
        tip.append(f"result {_show(c.complete.value)}")
        tip.append(f"{(c.complete.time - c.start) / 1e6:.3f} ms")
    else:
        tip.append("never completed")
    for k, v in c.extra.items():
        tip.append(f"{k} {_show(v)}")
    tip.append(f"index {c.invoke.index}")
    label = f"{c.f} {_show(c.value)}"
    return (
        f"<div class='op {c.type}' data-index='{c.invoke.index}' "
        f"style='left:{left}%;width:{max(right - left, 0.15)}%;background-color:{_COLORS.get(c.type, '#ccc')}' "
        f"title='{html.escape(chr(10).join(tip), quote=True)}'>{html.escape(label[:40])}</div>"
    )
