"""Checkers for the set, counter, unique-id and queue workloads (Jepsen's checkers of the same name).

They need no search: each element's life is judged from the adds, reads and removals that
mention it. ZooKeeper reads may be stale, so by default only what its guarantees promise is
required; `linearizable=True` also fails on reads that were merely stale.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

from zablab.checkers.calls import Call, hashable, pair_calls
from zablab.checkers.result import Result
from zablab.history.jsonl import Op

LIMIT = 20


def _sample(xs: Iterable[Any], limit: int = LIMIT) -> list[Any]:
    out = sorted(xs, key=repr)
    return out[:limit]


def _elements(v: Any) -> list[Hashable]:
    if v is None:
        return []
    if isinstance(v, dict):
        v = list(v)
    if not isinstance(v, list | tuple | set | frozenset):
        return [hashable(v)]
    return [hashable(x) for x in v]


def _is_final(c: Call) -> bool:
    return bool(c.extra.get("final"))


def check_set(ops: Iterable[Op], *, linearizable: bool = False) -> Result:
    """Set with `add x` and `read` (-> all elements), as Jepsen's set-full.

    An element is *known* once its add is acknowledged or a read returned it. Then it is
    lost if the last read that began after that does not hold it, stale if only some
    earlier such read missed it. Unexpected: read but never added (or only by failed adds).
    Duplicated: one read returned it twice.
    """
    calls = pair_calls(ops)
    adds: dict[Hashable, list[Call]] = defaultdict(list)
    for c in calls:
        if c.f == "add":
            adds[hashable(c.invoke.value)].append(c)
    reads = sorted((c for c in calls if c.f == "read" and c.type == "ok"), key=lambda c: c.start)
    if not reads:
        return Result("set", "unknown", {"reason": "no successful read"})

    known: dict[Hashable, float] = {}
    for x, cs in adds.items():
        ends = [c.end for c in cs if c.type == "ok"]
        if ends:
            known[x] = min(ends)
    unexpected: set[Hashable] = set()
    duplicated: dict[Hashable, int] = {}
    contents: list[set[Hashable]] = []
    for r in reads:
        els = _elements(r.value)
        counts = Counter(els)
        for x, n in counts.items():
            if n > 1:
                duplicated[x] = max(duplicated.get(x, 0), n)
            attempts = [c for c in adds.get(x, []) if c.type != "fail" and c.start <= r.end]
            if not attempts:
                unexpected.add(x)
                continue
            known[x] = min(known.get(x, r.end), r.end)
        contents.append(set(counts))

    lost: set[Hashable] = set()
    stale: set[Hashable] = set()
    never_read: set[Hashable] = set()
    starts = [r.start for r in reads]
    holding: dict[Hashable, list[int]] = defaultdict(list)  # element -> reads holding it
    for i, content in enumerate(contents):
        for x in content:
            holding[x].append(i)
    for x, t in known.items():
        first = bisect.bisect_right(starts, t)  # reads begun after x was known
        if first == len(reads):
            never_read.add(x)
            continue
        idx = holding.get(x, [])
        if not idx or idx[-1] != len(reads) - 1:
            lost.add(x)
        elif len(idx) - bisect.bisect_left(idx, first) < len(reads) - first:
            stale.add(x)
    attempted = {x for x, cs in adds.items() if any(c.type != "fail" for c in cs)}
    acknowledged = {x for x, cs in adds.items() if any(c.type == "ok" for c in cs)}
    valid = not (lost or unexpected or duplicated or (linearizable and stale))
    return Result(
        "set",
        valid,
        {
            "attempt-count": len(attempted),
            "acknowledged-count": len(acknowledged),
            "lost-count": len(lost),
            "lost": _sample(lost),
            # the lost element added first: the report names the fault that preceded it
            "first-lost": min(lost, key=lambda x: min(c.start for c in adds[x]), default=None),
            "stale-count": len(stale),
            "stale": _sample(stale),
            "unexpected-count": len(unexpected),
            "unexpected": _sample(unexpected),
            "duplicated-count": len(duplicated),
            "duplicated": {repr(k): v for k, v in list(duplicated.items())[:LIMIT]},
            "never-read-count": len(never_read),
        },
    )


def check_counter(ops: Iterable[Op], *, initial: int = 0, linearizable: bool = False) -> Result:
    """Counter with `add n` and `read`: each read within the range the adds allow.

    Upper bound (never a value from the future): initial + acknowledged adds done before the
    read + every add (ok or crashed) invoked before it ended, counting only positive deltas of
    the uncertain ones. The lower bound is the mirror image; it applies to final reads (marked
    `final`, or begun after every add was invoked and every acknowledged add completed), and
    to every read with `linearizable=True`. Stale non-final reads are legal in ZooKeeper.
    """
    calls = pair_calls(ops)
    adds = [c for c in calls if c.f in ("add", "increment") and c.type != "fail"]
    reads = [c for c in calls if c.f == "read" and c.type == "ok"]
    last_invoke = max((c.start for c in adds), default=-1)
    last_ok = max((c.end for c in adds if c.type == "ok"), default=-1)
    # prefix sums: adds invoked before t (split by sign), acknowledged adds done before t
    invoked = _Prefix([(c.start, _delta(c)) for c in adds])
    done = _Prefix([(c.end, _delta(c)) for c in adds if c.type == "ok"])
    errors: list[dict[str, Any]] = []
    checked_final = 0
    for r in reads:
        d_all, d_pos, d_neg = done.before(r.start)
        _, i_pos, i_neg = invoked.before(r.end)
        hi = initial + d_all + i_pos - d_pos
        lo = initial + d_all + i_neg - d_neg
        final = _is_final(r) or (r.start > last_invoke and r.start > last_ok)
        checked_final += final
        if not (linearizable or final):
            lo = initial + i_neg
        v = r.value
        if not isinstance(v, int | float) or isinstance(v, bool) or not lo <= v <= hi:
            errors.append(
                {"op": r.describe(), "value": v, "lower": lo, "upper": hi, "final": final}
            )
    if not reads:
        return Result("counter", "unknown", {"reason": "no successful read"})
    return Result(
        "counter",
        not errors,
        {
            "reads": len(reads),
            "final-reads": checked_final,
            "error-count": len(errors),
            "errors": errors[:LIMIT],
        },
    )


class _Prefix:
    """Sums of deltas at times strictly before t: (all, positive parts, negative parts)."""

    def __init__(self, items: list[tuple[float, int]]):
        items.sort(key=lambda it: it[0])
        self.times = [t for t, _ in items]
        self.sums = [(0, 0, 0)]
        a = p = n = 0
        for _, d in items:
            a, p, n = a + d, p + max(d, 0), n + min(d, 0)
            self.sums.append((a, p, n))

    def before(self, t: float) -> tuple[int, int, int]:
        return self.sums[bisect.bisect_left(self.times, t)]


def _delta(c: Call) -> int:
    v = c.invoke.value
    return 1 if v is None else int(v)


def check_unique_ids(ops: Iterable[Op]) -> Result:
    """`generate` -> id: no id is handed out twice."""
    ids = [hashable(c.value) for c in pair_calls(ops) if c.f == "generate" and c.type == "ok"]
    counts = Counter(ids)
    dups = {repr(k): n for k, n in counts.items() if n > 1}
    details: dict[str, Any] = {
        "generated": len(ids),
        "duplicated-count": len(dups),
        "duplicated": dict(list(dups.items())[:LIMIT]),
    }
    nums = [x for x in ids if isinstance(x, int) and not isinstance(x, bool)]
    if nums:
        details["range"] = [min(nums), max(nums)]
    if not ids:
        details["reason"] = "no generate completed ok, so there is nothing to check"
        return Result("unique-ids", "unknown", details)
    return Result("unique-ids", not dups, details)


def check_queue(ops: Iterable[Op], *, named: bool = False) -> Result:
    """`enqueue x`, `dequeue` -> x (fail: empty) and a final `drain` -> [x...] (Jepsen's
    total-queue). Order is not checked here: the linearizability checker's fifo-queue model
    does that.

    Lost: acknowledged, absent from every ok dequeue and the drain, and taken by no crashed
    dequeue (needs a successful drain, else unknown). A crashed dequeue may have removed the
    element it names in `element`; one naming none may have removed any one element, unless
    `named` (the client names the element whenever a removal may have happened). Elements a
    crashed dequeue may have taken are reported as possibly dequeued, not lost.
    Duplicated: dequeued more often than enqueued. Unexpected: dequeued but never enqueued, or
    dequeued before its enqueue began.
    """
    calls = pair_calls(ops)
    enq: dict[Hashable, list[Call]] = defaultdict(list)
    for c in calls:
        if c.f == "enqueue":
            enq[hashable(c.invoke.value)].append(c)
    dequeued: Counter[Hashable] = Counter()
    unexpected: set[Hashable] = set()
    maybe: set[Hashable] = set()  # named by a crashed dequeue
    anonymous = 0  # crashed dequeues that name no element
    drained = False
    for c in calls:
        if c.f not in ("dequeue", "drain") or c.type == "fail":
            continue
        if c.type != "ok":
            if "element" in c.extra:
                maybe.add(hashable(c.extra["element"]))
            elif c.f == "dequeue" and not named:
                anonymous += 1
            items = _elements(c.extra.get("elements"))  # removed for sure before the crash
        elif c.f == "drain":
            drained = True
            items = _elements(c.complete.value if c.complete else None)
        else:
            items = [hashable(c.complete.value if c.complete else None)]
        for x in items:
            dequeued[x] += 1
            if not [e for e in enq.get(x, []) if e.type != "fail" and e.start <= c.end]:
                unexpected.add(x)
    attempts = {x: sum(1 for e in cs if e.type != "fail") for x, cs in enq.items()}
    duplicated = {
        x: n for x, n in dequeued.items() if x not in unexpected and n > attempts.get(x, 0)
    }
    acked = {x for x, cs in enq.items() if any(e.type == "ok" for e in cs)}
    recovered = {x for x in dequeued if x in attempts and x not in acked}
    missing = {x for x in acked if dequeued[x] == 0}
    possibly = missing & maybe
    rest = missing - possibly
    if len(rest) <= anonymous:  # each crashed dequeue naming nothing may have taken one
        possibly, rest = missing, set()
    lost_count = len(rest) - anonymous if rest else 0
    details: dict[str, Any] = {
        "enqueued-ok": len(acked),
        "dequeued": sum(dequeued.values()),
        "drained": drained,
        "lost-count": lost_count if drained else None,
        "lost": _sample(rest) if drained else [],
        "possibly-dequeued-count": len(possibly),
        "possibly-dequeued": _sample(possibly),
        "crashed-dequeues-naming-nothing": anonymous,
        "recovered-count": len(recovered),
        "unexpected-count": len(unexpected),
        "unexpected": _sample(unexpected),
        "duplicated-count": len(duplicated),
        "duplicated": {repr(k): v for k, v in list(duplicated.items())[:LIMIT]},
    }
    if anonymous and rest and drained:
        details["lost-note"] = (
            f"{lost_count} of these are lost; the others may have been taken by the "
            f"{anonymous} crashed dequeues that name no element"
        )
    if unexpected or duplicated or (drained and rest):
        return Result("queue", False, details)
    if not drained and missing:
        details["reason"] = "no successful drain, so undequeued elements may still be queued"
        return Result("queue", "unknown", details)
    if not acked and not dequeued:
        details["reason"] = "no enqueue or dequeue completed ok, so there is nothing to check"
        return Result("queue", "unknown", details)
    return Result("queue", True, details)
