"""Availability: how long after each fault healed until ops succeeded again, and the longest
stretch with no successful op.

Safety checkers judge what completed; a run where nothing completes for most of its time passes
them all, since no op means no anomaly. That hides liveness failures: a workload that deadlocks
itself, a cluster that never re-elects. So this checker looks at when client ops completed `ok`
against the fault periods of the nemesis:

- a stretch with no ok op is expected while a fault is in force; counted from the heal of the
  first fault it overlaps, it may last `bound` seconds more (sessions expire, a leader is
  elected, clients reconnect); faults that come later do not extend it, or a wedged workload
  would hide behind a nemesis that keeps breaking things;
- after each fault heals, ops must succeed again within `bound`.

A stretch past the bound makes the result `unknown` (a liveness problem, not a safety
violation) with the stretch named. The default bound is two session timeouts: an abandoned
session's ephemerals (a lock, a candidacy) may outlive a heal by one, and a leader change
restarts every session's timer once more.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zablab.checkers.perf import Interval, nemesis_intervals
from zablab.checkers.result import Result
from zablab.history.jsonl import Op

NS = 1_000_000_000
SESSION_TIMEOUTS = 2  # the default bound, in session timeouts
MIN_BOUND_S = 10.0  # ... but never below this: the cluster's own recovery (an election, a
# restarted JVM) takes seconds however short the clients' sessions are


def default_bound(session_timeout: float) -> float:
    return max(SESSION_TIMEOUTS * session_timeout, MIN_BOUND_S)


@dataclass(frozen=True)
class Stretch:
    start: int  # ns
    end: int
    excused_until: int  # when the first fault it overlaps healed (its start if none)

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / NS

    @property
    def unexcused(self) -> float:
        return (self.end - self.excused_until) / NS


def _s(ns: int) -> float:
    return round(ns / NS, 1)


def _ok_times(ops: Sequence[Op]) -> tuple[list[int], int, int] | None:
    """Completion times of ok client ops in the main phase, and that phase's (start, end)."""
    main = [op for op in ops if op.is_client and not op.extra.get("final")]
    if not main:
        return None
    start = min(op.time for op in main)
    end = max(op.time for op in main)
    return sorted(op.time for op in main if op.type == "ok"), start, end


def _active(intervals: Sequence[Interval], t: int) -> list[Interval]:
    return [i for i in intervals if i.start <= t < i.end]


def _healed(i: Interval, intervals: Sequence[Interval]) -> int:
    """When `i` healed, or later if another fault was still in force then."""
    return max([i.end, *(j.end for j in _active(intervals, i.end) if j is not i)])


def stretches(oks: list[int], start: int, end: int, intervals: Sequence[Interval]) -> list[Stretch]:
    """Every gap between successive ok completions (and the phase's ends)."""
    points = [start, *oks, end]
    out = []
    for a, b in zip(points, points[1:], strict=False):
        if b <= a:
            continue
        overlapping = [i for i in intervals if i.start < b and i.end > a]
        excuse = a
        if overlapping:
            excuse = max(a, _healed(min(overlapping, key=lambda i: i.start), intervals))
        out.append(Stretch(a, b, min(excuse, b)))
    return out


def _recovery(
    i: Interval, oks: list[int], end: int, intervals: Sequence[Interval]
) -> dict[str, Any]:
    healed = _healed(i, intervals)
    k = bisect.bisect_left(oks, healed)
    after = oks[k] if k < len(oks) else None
    out: dict[str, Any] = {
        "fault": i.name,
        "start": _s(i.start),
        "healed": _s(i.end),
        "recovered-after": None if after is None else round((after - healed) / NS, 2),
    }
    if after is None:
        out["unrecovered-for"] = round((end - healed) / NS, 2)
    return out


def _quorumless(ops: Sequence[Op]) -> list[int]:
    """When the nemesis reported a partition in which no quorum could form (its value says
    `"quorum": false`, from the grudge's graph)."""
    return [
        op.time
        for op in ops
        if op.process == "nemesis"
        and op.type != "invoke"
        and isinstance(op.value, dict)
        and op.value.get("quorum") is False
    ]


def check_availability(
    ops: Sequence[Op], *, bound: float | None = None, session_timeout: float = 10.0
) -> Result:
    """See the module docstring; `bound` in seconds (default two session timeouts)."""
    limit = default_bound(session_timeout) if bound is None else float(bound)
    found = _ok_times(ops)
    if found is None:
        return Result("availability", "unknown", {"reason": "no client operations"})
    oks, start, end = found
    intervals = [i for i in nemesis_intervals(ops) if i.start < end]
    details: dict[str, Any] = {"bound-s": limit, "ok-ops": len(oks)}
    if not oks:
        details["reason"] = f"no client op succeeded in {_s(end - start)} s"
        return Result("availability", "unknown", details)
    gaps = stretches(oks, start, end, intervals)
    longest = max(gaps, key=lambda g: g.seconds)
    details["longest-stretch"] = {
        "from": _s(longest.start),
        "to": _s(longest.end),
        "seconds": round(longest.seconds, 2),
    }
    faults = [_recovery(i, oks, end, intervals) for i in intervals if i.end <= end]
    stalls = _quorumless(ops)
    for i, f in zip([i for i in intervals if i.end <= end], faults, strict=True):
        if any(i.start <= t <= i.end for t in stalls):
            f["note"] = "no node reached a majority: writes could not commit until it healed"
    details["faults"] = faults
    late = [g for g in gaps if g.unexcused > limit]
    slow = [f for f in faults if (f["recovered-after"] or f.get("unrecovered-for", 0.0)) > limit]
    if not late and not slow:
        return Result("availability", True, details)
    details["unavailable"] = [
        {"from": _s(g.start), "to": _s(g.end), "seconds": round(g.seconds, 2)} for g in late
    ]
    if late:
        g = max(late, key=lambda x: x.unexcused)
        why = f"no client op succeeded for {g.seconds:.1f} s (from {_s(g.start)} s to {_s(g.end)} s"
        if g.excused_until > g.start:
            why += f", {g.unexcused:.1f} s after the fault healed at {_s(g.excused_until)} s"
        why += f"); bound {limit:g} s"
    else:
        f = max(slow, key=lambda x: x["recovered-after"] or x.get("unrecovered-for", 0.0))
        took = f["recovered-after"]
        why = (
            f"ops succeeded only {took:.1f} s after the {f['fault']} healed at {f['healed']} s"
            if took is not None
            else f"no op succeeded in the {f['unrecovered-for']:.1f} s after the {f['fault']} "
            f"healed at {f['healed']} s"
        ) + f"; bound {limit:g} s"
    details["reason"] = why + " (liveness: safety checkers cannot judge what did not happen)"
    return Result("availability", "unknown", details)
