"""Fault periods read back from the nemesis's ops, and how to say them in words.

The perf plots shade these periods, and the summaries and the report name them ("the
partition {n1,n2} | {n3,n4,n5} at 12.0–27.0 s"), so the pairing of opening and closing ops
lives here once. Times are ns since the test started, as in the history.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zablab.checkers.calls import Call, pair_calls
from zablab.history.jsonl import Op

NS = 1e9
#: nemesis fs that open a fault period, and the f that closes it (besides start-X / stop-X)
PAIRS = {
    "start": "stop",
    "partition": "heal",
    "kill": "restart",
    "pause": "resume",
    "bump-clock": "reset-clock",
    "clock-bump": "clock-reset",
}
#: one heal of the network ends all of these, whichever stop-X the nemesis recorded for it
NETWORK = frozenset({"partition", "loss", "delay"})


@dataclass(frozen=True, slots=True)
class Period:
    """A fault from its opening invoke to its closing completion.

    `value` is what the opening op recorded (the grudge, the nodes killed); `closed` is False
    for a fault still in force when the history ends; `error` is set when the fault failed to
    apply.
    """

    start: int
    end: int
    name: str
    value: Any = None
    close_value: Any = None
    closed: bool = True
    error: str | None = None


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


def _value(c: Call) -> Any:
    return c.complete.value if c.complete is not None else None


def fault_periods(ops: Sequence[Op]) -> list[Period]:
    """Fault periods from the nemesis's ops, in order of their start.

    A period runs from the invoke of an opening op (start-X, or an f in PAIRS such as kill) to
    the completion of the matching closing op (stop-X, restart); one never closed lasts until
    the history ends. Any other nemesis op is a period of its own, from its invoke to its
    completion (e.g. a clock strobe that runs for seconds). A stop without a start (the final
    heal when nothing was running) is no period.
    """
    end_of_history = max((op.time for op in ops), default=0)
    nem = [c for c in pair_calls(ops, include_nemesis=True) if c.process == "nemesis"]
    nem.sort(key=lambda c: c.start)
    open_: dict[str, Call] = {}
    out: list[Period] = []
    for c in nem:
        role = _fault_name(c.f)
        error = c.extra.get("error")
        err = str(error) if error is not None else None
        if role is None:
            done = c.complete.time if c.complete is not None else end_of_history
            out.append(Period(int(c.start), int(done), c.f, _value(c), error=err))
            continue
        kind, name = role
        if kind == "open":
            if err is not None:  # it never took effect: a moment, not a period
                out.append(Period(int(c.start), int(c.start), name, None, error=err))
            else:
                open_.setdefault(name, c)
            continue
        names = [n for n in open_ if n in NETWORK] if name in NETWORK else [name]
        closed = int(c.complete.time if c.complete is not None else c.start)
        for n in names:
            opener = open_.pop(n, None)
            if opener is not None:
                out.append(Period(int(opener.start), closed, n, _value(opener), _value(c)))
    for name, c in open_.items():
        out.append(Period(int(c.start), int(end_of_history), name, _value(c), closed=False))
    out.sort(key=lambda p: (p.start, p.end))
    return out


def fault_before(periods: Sequence[Period], t: float) -> Period | None:
    """The last fault that began at or before t (periods sorted by start)."""
    i = bisect.bisect_right([p.start for p in periods], t)
    for p in reversed(periods[:i]):
        if p.error is None:
            return p
    return None


def seconds(t: float) -> str:
    return f"{t / NS:.1f} s"


def _nodes(v: Any) -> str:
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(str(x) for x in sorted(v, key=str)) or "no node"
    return str(v)


def _group(ns: Iterable[str]) -> str:
    return "{" + ",".join(sorted(ns)) + "}"


def describe_grudge(grudge: dict[str, Any], nodes: Sequence[str] = ()) -> str:
    """{n1,n2} | {n3,n4,n5} when the grudge splits the cluster into groups that hear only
    themselves; nodes that hear everyone are named as bridges; any other shape (a ring of
    majorities) as who hears whom."""
    cut = {str(k): {str(x) for x in v} for k, v in grudge.items()}
    everyone = set(nodes) | set(cut) | {x for v in cut.values() for x in v}

    def talk(a: str, b: str) -> bool:
        return b not in cut.get(a, ()) and a not in cut.get(b, ())

    bridges = sorted(n for n in everyone if all(talk(n, m) for m in everyone))
    rest = sorted(everyone - set(bridges))
    groups: list[set[str]] = []
    for n in rest:
        mates = {m for m in rest if talk(n, m)}
        if mates not in groups:
            groups.append(mates)
    cliques = all(talk(a, b) for g in groups for a in g for b in g)
    clean = cliques and sum(len(g) for g in groups) == len(rest)  # disjoint, covering rest
    if clean and len(groups) > 1:
        text = " | ".join(_group(g) for g in sorted(groups, key=lambda g: sorted(g)))
        if bridges:
            text += f", {', '.join(bridges)} hearing both sides"
        return text
    hears = [f"{n} hears {_group(m for m in everyone if m != n and talk(n, m))}" for n in rest]
    return "; ".join(hears) or "no node cut off"


def describe_period(p: Period, nodes: Sequence[str] = ()) -> str:
    """One readable line: "partition {n1,n2} | {n3,n4,n5} at 12.0–27.0 s",
    "kill n3 at 30.1 s, restarted 35.2 s"."""
    at = seconds(p.start)
    if p.error is not None:
        return f"{p.name} at {at} failed to apply: {p.error}"
    v = p.value
    if not p.closed:
        span = f"at {at}, still in force when the history ends"
    elif p.end > p.start:
        span = f"at {p.start / NS:.1f}–{p.end / NS:.1f} s"
    else:
        span = f"at {at}"
    if p.name in ("kill", "pause"):
        again = {"kill": "restarted", "pause": "resumed"}[p.name]
        end = f", {again} {seconds(p.end)}" if p.closed else f", not {again} before the end"
        return f"{p.name} {_nodes(v)} at {at}{end}"
    if p.name == "partition" and isinstance(v, dict):
        grudge = v.get("grudge", v)
        if isinstance(grudge, dict) and all(isinstance(x, list) for x in grudge.values()):
            shape = f" ({v['shape']})" if v.get("shape") in ("majorities-ring", "bridge") else ""
            return f"partition {describe_grudge(grudge, nodes)}{shape} {span}"
    if p.name == "loss" and isinstance(v, dict):
        pct = f"{float(v.get('probability', 0)) * 100:.0f}%"
        return f"packet loss {pct} on {_nodes(v.get('nodes'))} {span}"
    if p.name == "delay" and isinstance(v, dict):
        return f"delay {v.get('ms')} ms on {_nodes(v.get('nodes'))} {span}"
    if p.name == "clock" and isinstance(v, dict):
        on = _nodes(v.get("nodes"))
        if "bump_ms" in v:
            return f"clock of {on} moved {int(v['bump_ms']) / 1000:+.1f} s {span}"
        if "strobe_ms" in v:
            return (
                f"clock of {on} strobed by {v['strobe_ms']} ms every {v.get('period_ms')} ms {span}"
            )
    detail = "" if v is None else f" {_plain(v)}"
    return f"{p.name}{detail} {span}"


def _plain(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_plain(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return _nodes(v)
    return str(v)


def short_name(p: Period) -> str:
    """What a sentence calls the fault: "the partition at 23.4 s", "the kill of n3 at 30.1 s"."""
    if p.name in ("kill", "pause") and p.value:
        return f"the {p.name} of {_nodes(p.value)} at {seconds(p.start)}"
    return f"the {p.name} at {seconds(p.start)}"
