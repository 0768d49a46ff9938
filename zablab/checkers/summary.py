"""Verdicts in sentences: what each checker checks, and what it found, for a reader who has not
read the checker.

`EXPLAIN` is the one table of what each checker means; the report and docs/checkers.md both
show it (a test keeps the docs in step). `summarize` turns a result (its results.json form) and
the history into one line with the numbers that matter: how many, which ones, and the fault
that came before the first sign of trouble. An unknown verdict's line always says why.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

from zablab.checkers.faults import Period, fault_before, fault_periods, short_name
from zablab.checkers.result import Result
from zablab.checkers.spec import hashable
from zablab.checkers.zab import PROPERTIES
from zablab.history.jsonl import Op

#: What ZooKeeper allows that a linearizable store would not: said wherever stale reads show.
STALE_READS_ALLOWED = (
    "which ZooKeeper allows (only writes are linearizable; reads may lag unless preceded by sync)"
)

EXPLAIN: dict[str, str] = {
    "linearizable": "Some order of the operations, each taking effect at one instant between "
    "its invocation and its completion, explains every result against the model.",
    "zookeeper": "ZooKeeper's own promises: writes are linearizable in zxid order, each "
    "session moves forward through that order, and a read may be stale but never from the "
    "future.",
    "zab": "ZAB's broadcast properties, checked on the replicas' traces of what each "
    "broadcast and delivered.",
    "integrity": "A replica delivers only transactions some primary broadcast.",
    "total-order": "Every replica delivers transactions in zxid order, each once, and any two "
    "replicas order the transactions they share the same way.",
    "agreement": "Replicas that delivered up to the same point delivered the same transactions.",
    "local-primary-order": "Transactions of one primary are delivered in the order it "
    "broadcast them.",
    "global-primary-order": "Transactions of an older epoch's primary are delivered before "
    "those of a newer one.",
    "primary-integrity": "A new primary delivers every earlier transaction that was delivered "
    "anywhere before it broadcasts its own.",
    "one-leader-per-epoch": "At most one leader is established in each epoch.",
    "set": "Every element whose add was acknowledged is in the last read, and no read holds "
    "an element nobody added or holds one twice.",
    "counter": "Every read lies between what the acknowledged adds require and what all the "
    "attempted adds allow.",
    "unique-ids": "No id is handed out twice.",
    "queue": "Every acknowledged enqueue is dequeued or drained exactly once, and nothing is "
    "dequeued that was never enqueued.",
    "availability": "Ops succeed again within a bound after each fault heals, and no stretch "
    "without a successful op outlasts it: a liveness check, so a breach is unknown, not invalid.",
    "fencing": "No write is accepted with a fencing token older than one already accepted, "
    "and no token is handed to two lock holders.",
    "session": "An ephemeral znode lives exactly as long as its session: visible while the "
    "session serves reads, gone once it has ended.",
    "stats": "Counts of ok, failed and unknown (info) results per operation; fails if some "
    "operation never succeeded, since then nothing about it was checked.",
    "errors": "The errors clients met, grouped by kind; fails on an exception the client did "
    "not expect.",
    "perf": "Latency and throughput over time, with fault periods shaded; no verdict of its own.",
    "timeline": "Each process's operations on a time line, to see what overlapped what.",
}

#: what ZooKeeper allows that a reader might take for a bug: (title, sentence), for the report
ALLOWED: tuple[tuple[str, str], ...] = (
    (
        "Stale reads",
        "A read is answered by the server its session is connected to, which may lag behind "
        "the latest write: only writes are linearizable, and a read is sure to see every "
        "acknowledged write only when a sync precedes it. The checkers count stale reads but "
        "do not fail on them, unless linearizable reads were asked for.",
    ),
    (
        "Failed operations",
        "fail means the op certainly did not take effect: a cas whose precondition did not "
        "hold, a dequeue of an empty queue. Such counts are expected, not errors.",
    ),
    (
        "Unknown outcomes",
        "info means the outcome is unknown (a timeout, a lost connection): the op may or may "
        "not have taken effect, and the checkers allow both.",
    ),
)

#: how the report's operation table explains an outcome of some f
OUTCOME_NOTES: dict[tuple[str, str], str] = {
    ("cas", "fail"): "cas that failed their precondition (the value was not the expected "
    "one): expected, not errors",
    ("dequeue", "fail"): "dequeues that found the queue empty",
    ("acquire", "fail"): "acquires that did not get the lock in time",
}
INFO_NOTE = (
    "info: outcome unknown (timeout, connection loss); the checkers allow both that it took "
    "effect and that it did not"
)


def explain(checker: str) -> str:
    """The table's sentence for a checker, also for names such as "linearizable key 3"."""
    return EXPLAIN.get(checker) or EXPLAIN.get(checker.split(" ", 1)[0], "")


def n(k: Any, one: str, many: str | None = None) -> str:
    """ "1 read", "1,265 reads"."""
    count = int(k or 0)
    word = one if count == 1 else (many or one + "s")
    return f"{count:,} {word}"


def _was(k: Any) -> str:
    return "was" if int(k or 0) == 1 else "were"


def _eg(xs: Any, limit: int = 3) -> str:
    items = list(xs or [])[:limit]
    return ", ".join(str(x) for x in items)


class Context:
    """The history facts summaries need, computed once per run."""

    def __init__(self, ops: Sequence[Op]):
        self.ops = ops

    @cached_property
    def periods(self) -> list[Period]:
        return fault_periods(self.ops)

    @cached_property
    def _invokes(self) -> dict[tuple[str, Hashable], Op]:
        """The first invoke of each (f, value), for the time an element was added."""
        out: dict[tuple[str, Hashable], Op] = {}
        for op in self.ops:
            if op.is_client and op.type == "invoke":
                out.setdefault((op.f, hashable(op.value)), op)
        return out

    @cached_property
    def _by_index(self) -> dict[int, Op]:
        return {op.index: op for op in self.ops}

    def first_invoke(self, fs: Iterable[str], values: Iterable[Any]) -> Op | None:
        found = [
            op
            for v in values
            for f in fs
            if (op := self._invokes.get((f, hashable(v)))) is not None
        ]
        return min(found, key=lambda op: op.time, default=None)

    def at_index(self, index: Any) -> Op | None:
        return self._by_index.get(index) if isinstance(index, int) else None

    def after_fault(self, op: Op | None, what: str) -> str:
        """ " — first missing after the partition at 23.4 s", or "" without a fault before."""
        if op is None or not self.ops:
            return ""
        p = fault_before(self.periods, op.time)
        if p is None:
            return f" — {what} at {op.time / 1e9:.1f} s, before any fault" if self.periods else ""
        return f" — {what} after {short_name(p)}"

    def failed(self, f: str, key: str | None = None) -> int:
        """Client ops of f that failed (for a key of a keyed history when key is given)."""
        total = 0
        last: dict[Hashable, Op] = {}
        for op in self.ops:
            if not op.is_client or op.f != f:
                continue
            p = hashable(op.process)
            if op.type == "invoke":
                last[p] = op
            elif op.type == "fail":
                inv = last.get(p, op)
                v = inv.value
                if key is None or (isinstance(v, list | tuple) and v and str(v[0]) == key):
                    total += 1
        return total


def _if(d: Mapping[str, Any], key: str, noun: str, rest: str) -> list[str]:
    """["3 elements <rest>"] when d[key] counts something, else []."""
    return [f"{n(d[key], noun)} {rest}"] if d.get(key) else []


Summary = Callable[[Mapping[str, Any], Context], str]


def _set(d: Mapping[str, Any], cx: Context) -> str:
    lost, stale = d.get("lost-count", 0), d.get("stale-count", 0)
    if d.get("valid") is False:
        parts = []
        if lost:
            lead = [d["first-lost"]] if d.get("first-lost") is not None else []
            examples = lead + [x for x in d.get("lost", []) if x not in lead]
            first = cx.first_invoke(("add",), lead or examples)
            parts.append(
                f"{n(lost, 'acknowledged add')} {_was(lost)} lost, e.g. {_eg(examples)}"
                + cx.after_fault(first, "first missing")
            )
        if d.get("unexpected-count"):
            k = d["unexpected-count"]
            parts.append(
                f"{n(k, 'element')} read that no add wrote, e.g. {_eg(d.get('unexpected'))}"
            )
        if d.get("duplicated-count"):
            k = d["duplicated-count"]
            parts.append(f"{n(k, 'element')} read twice in one read, e.g. {_eg(d['duplicated'])}")
        if stale and not parts:
            parts.append(
                f"{n(stale, 'element')} missing from a read after {_was(stale)} known added "
                "(stale reads, errors here because linearizability was asked for)"
            )
        return "; ".join(parts)
    text = (
        f"no acknowledged add was lost: of {n(d.get('attempt-count'), 'add')} attempted, "
        f"{d.get('acknowledged-count', 0):,} acknowledged, every element known added is in the "
        "last read"
    )
    if stale:
        text += f"; {n(stale, 'element')} showed up late in reads (stale reads), " + (
            STALE_READS_ALLOWED
        )
    if d.get("never-read-count"):
        k = d["never-read-count"]
        text += f"; {n(k, 'element')} added too late for any read to check"
    return text


def _counter(d: Mapping[str, Any], cx: Context) -> str:
    reads = d.get("reads", 0)
    if d.get("valid") is False:
        errors = d.get("errors") or [{}]
        e = errors[0]
        final = " (a final read)" if e.get("final") else ""
        return (
            f"{d.get('error-count', 0):,} of {n(reads, 'read')} out of bounds, e.g. read "
            f"{e.get('value')!r} where {e.get('lower')}–{e.get('upper')} was possible{final}"
        )
    return (
        f"all {n(reads, 'read')} lie within what the adds allow ("
        f"{d.get('final-reads', 0):,} final reads held to the exact range; earlier reads may "
        "lag, which ZooKeeper allows)"
    )


def _unique_ids(d: Mapping[str, Any], cx: Context) -> str:
    if d.get("valid") is False:
        dups = d.get("duplicated") or {}
        eg = ", ".join(f"{k} ({v}×)" for k, v in list(dups.items())[:3])
        return f"{n(d.get('duplicated-count'), 'id')} handed out more than once, e.g. {eg}"
    rng = d.get("range")
    within = f", from {rng[0]:,} to {rng[1]:,}" if isinstance(rng, list) and len(rng) == 2 else ""
    return f"{n(d.get('generated'), 'id')} generated{within}, none twice"


def _queue(d: Mapping[str, Any], cx: Context) -> str:
    parts = []
    if d.get("lost-count"):
        k = d["lost-count"]
        first = cx.first_invoke(("enqueue",), d.get("lost", []))
        parts.append(
            f"{n(k, 'acknowledged enqueue')} {_was(k)} lost (neither dequeued nor drained), "
            f"e.g. {_eg(d.get('lost'))}" + cx.after_fault(first, "first missing")
        )
    if d.get("unexpected-count"):
        k = d["unexpected-count"]
        parts.append(
            f"{n(k, 'element')} dequeued that {_was(k)} never enqueued, "
            f"e.g. {_eg(d.get('unexpected'))}"
        )
    if d.get("duplicated-count"):
        k = d["duplicated-count"]
        parts.append(f"{n(k, 'element')} dequeued more often than enqueued")
    if d.get("valid") is False:
        return "; ".join(parts)
    return "; ".join(
        [
            f"nothing lost or duplicated: {n(d.get('enqueued-ok'), 'acknowledged enqueue')}, "
            f"{n(d.get('dequeued'), 'element')} dequeued or drained",
            *_if(
                d, "possibly-dequeued-count", "element", "may have been taken by crashed dequeues"
            ),
            *_if(d, "recovered-count", "enqueue", "of unknown outcome took effect (allowed)"),
        ]
    )


_FENCING = {
    "token-reused": "tokens handed to two acquires",
    "token-decreased": "tokens lower than one issued before",
    "stale-token-accepted": "writes accepted with a stale token",
    "unknown-token": "writes accepted with a token no acquire returned",
    "overlapping-holds": "overlapping lock holds",
}


def _fencing(d: Mapping[str, Any], cx: Context) -> str:
    if d.get("valid") is False:
        parts = []
        for kind in d.get("failures", []):
            found = d.get(kind) or [{}]
            k = d.get(f"{kind}-count", 0)
            parts.append(f"{k:,} {_FENCING.get(kind, kind)}, e.g. {found[0].get('detail', '')}")
        return "; ".join(parts)
    overlaps = "which a ZooKeeper lock alone cannot prevent and fencing makes harmless"
    return "; ".join(
        [
            f"no write accepted with a stale token: {n(d.get('acquired'), 'acquire')}, "
            f"{n(d.get('writes-accepted'), 'write')} accepted",
            *_if(d, "overlapping-holds-count", "overlapping hold", overlaps),
        ]
    )


def _availability(d: Mapping[str, Any], cx: Context) -> str:
    longest = d.get("longest-stretch") or {}
    faults = d.get("faults") or []
    took = [f["recovered-after"] for f in faults if f.get("recovered-after") is not None]
    parts = [f"{n(d.get('ok-ops'), 'op')} succeeded"]
    if longest:
        parts.append(
            f"the longest stretch without one was {longest.get('seconds', 0):.1f} s "
            f"(from {longest.get('from')} s)"
        )
    if took:
        parts.append(
            f"after each of {n(len(took), 'fault')} ops succeeded again within {max(took):.1f} s"
        )
    return "; ".join(parts)


def _session(d: Mapping[str, Any], cx: Context) -> str:
    if d.get("valid") is False:
        kinds: dict[str, int] = {}
        for e in d.get("errors", []):
            kinds[e.get("kind", "?")] = kinds.get(e.get("kind", "?"), 0) + 1
        words = {
            "vanished-early": "ephemerals gone while their session was alive",
            "outlived-session": "ephemerals still there after their session ended",
        }
        total = d.get("error_count", sum(kinds.values()))
        shown = ", ".join(f"{v} with {words.get(k, k)}" for k, v in kinds.items())
        return f"{n(total, 'read')} contradict the session rule: {shown}"
    return (
        f"ephemeral znodes lived exactly as long as their sessions over {n(d.get('reads'), 'read')}"
    )


def _zookeeper(d: Mapping[str, Any], cx: Context) -> str:
    counts: dict[str, int] = d.get("anomaly-counts") or {}
    stale, unplaced = d.get("stale-reads", 0), d.get("reads-unplaced", 0)
    if counts:
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        kinds = ", ".join(f"{v:,} {k}" for k, v in ranked)
        found: list[dict[str, Any]] = (d.get("anomalies") or {}).get(ranked[0][0]) or [{}]
        eg = found[0].get("detail", "")
        text = f"{n(total, 'violation')} of ZooKeeper's guarantees ({kinds}), e.g. {eg}"
        if stale:
            text += f"; besides, {n(stale, 'stale read')}, {STALE_READS_ALLOWED}"
        return text
    if d.get("valid") is True:
        text = (
            f"ZooKeeper's guarantees hold: {n(d.get('writes'), 'write')} (cas included) in one "
            "zxid order "
            f"that respects real time, {n(d.get('reads'), 'read')} over "
            f"{n(d.get('sessions'), 'session')}, each moving forward"
        )
    else:
        text = f"{n(d.get('writes'), 'write')} and {n(d.get('reads'), 'read')} checked"
    if stale:
        text += f"; {n(stale, 'stale read')}, {STALE_READS_ALLOWED}"
    if unplaced:
        text += (
            f"; {n(unplaced, 'read')} could not be placed in the write order, so were not checked"
        )
    return text


def _linearizable(d: Mapping[str, Any], cx: Context) -> str:
    name = str(d.get("checker", ""))
    key = name.removeprefix("linearizable key ") if name.startswith("linearizable key ") else None
    ops = d.get("ops", 0)
    if d.get("valid") is False:
        op = d.get("op") or {}
        of_key = f" of key {d['key']}" if d.get("key") is not None else ""
        part = len(d.get("partition_ops") or []) or ops
        longest = d.get("longest") or [{}]
        inv = cx.at_index(op.get("invoke_index"))
        return (
            f"not linearizable: no order of the {part:,} ops{of_key} explains "
            f"{op.get('describe', 'an op')} (process {op.get('process')}, history index "
            f"{op.get('invoke_index')}); the longest explainable prefix has "
            f"{len(longest[0].get('ops', [])):,} ops" + cx.after_fault(inv, "invoked")
        )
    if d.get("valid") is True:
        text = (
            f"the history is linearizable: {n(ops, 'op')} checked against the "
            f"{d.get('model', '?')} model"
        )
    else:
        text = f"{n(ops, 'op')} against the {d.get('model', '?')} model"
    failed = cx.failed("cas", key)
    if failed:
        their = "its" if failed == 1 else "their"
        text += (
            f" ({n(failed, 'cas', 'cas')} that failed {their} precondition: expected, not errors)"
        )
    return text


def _zab(d: Mapping[str, Any], cx: Context) -> str:
    kids = d.get("children") or []
    if d.get("valid") is False:
        bad = [c for c in kids if c.get("valid") is False]
        names = ", ".join(f"{c.get('checker')} ({c.get('violations', '?')})" for c in bad)
        eg = next((c["examples"][0] for c in bad if c.get("examples")), "")
        return f"ZAB violated: {names}" + (f", e.g. {eg}" if eg else "")
    return (
        f"ZAB's {len(kids)} properties hold on the traces of {n(d.get('nodes'), 'replica')}: "
        f"{n(d.get('broadcasts'), 'broadcast')}, {n(d.get('deliveries'), 'delivery', 'deliveries')}"
    )


def _zab_property(d: Mapping[str, Any], cx: Context) -> str:
    if d.get("valid") is False:
        eg = (d.get("examples") or [""])[0]
        return f"{n(d.get('violations'), 'violation')}, e.g. {eg}"
    return "no violation in the traces"


def _stats(d: Mapping[str, Any], cx: Context) -> str:
    text = (
        f"{n(d.get('count'), 'op')}: {d.get('ok-count', 0):,} ok, {d.get('fail-count', 0):,} "
        f"failed, {d.get('info-count', 0):,} of unknown outcome"
    )
    if d.get("never-succeeded"):
        text += f"; never succeeded: {', '.join(d['never-succeeded'])}, so nothing about them was checked"
    return text


def _errors(d: Mapping[str, Any], cx: Context) -> str:
    def kinds(groups: Mapping[str, Any]) -> str:
        return ", ".join(f"{k} ({g.get('count', 0):,})" for k, g in list(groups.items())[:3])

    unhandled, errors = d.get("unhandled") or {}, d.get("errors") or {}
    if unhandled:
        total = sum(g.get("count", 0) for g in unhandled.values())
        return f"{n(total, 'unexpected exception')} in the clients: {kinds(unhandled)}"
    total = sum(g.get("count", 0) for g in errors.values())
    if not total:
        return "no client errors"
    return f"no unexpected exception; {n(total, 'error')} the clients expected: {kinds(errors)}"


def _perf(d: Mapping[str, Any], cx: Context) -> str:
    q = d.get("ok-latency-ms") or {}
    if not q:
        return "no latency to show"
    return (
        f"ok latency: median {q.get('q0.5', 0):.1f} ms, 99th percentile {q.get('q0.99', 0):.1f} "
        f"ms, max {q.get('q1.0', 0):.1f} ms"
    )


def _timeline(d: Mapping[str, Any], cx: Context) -> str:
    return "per-process timeline drawn"


def _composite(d: Mapping[str, Any], cx: Context) -> str:
    kids = d.get("children") or []
    by: dict[str, list[str]] = {}
    for c in kids:
        by.setdefault(_verdict(c.get("valid")), []).append(str(c.get("checker")))
    if d.get("valid") is True:
        names = ", ".join(by.get("valid", []))
        return f"{names} passed" if len(kids) == 1 else f"all {len(kids)} checkers passed: {names}"
    said = {"INVALID": "failed", "unknown": "undecided", "valid": "passed"}
    return "; ".join(
        f"{said[v]}: {', '.join(by[v])}" for v in ("INVALID", "unknown", "valid") if v in by
    )


SUMMARIES: dict[str, Summary] = {
    "set": _set,
    "counter": _counter,
    "unique-ids": _unique_ids,
    "queue": _queue,
    "fencing": _fencing,
    "availability": _availability,
    "session": _session,
    "zookeeper": _zookeeper,
    "linearizable": _linearizable,
    "zab": _zab,
    "stats": _stats,
    "errors": _errors,
    "perf": _perf,
    "timeline": _timeline,
    **{p: _zab_property for p in PROPERTIES},
}


#: summaries that say only what was checked when the verdict is unknown (the others would
#: read as a pass)
_NEUTRAL = frozenset({_zookeeper, _linearizable, _composite})


def _verdict(v: Any) -> str:
    return "valid" if v is True else "INVALID" if v is False else "unknown"


def summarize(d: Mapping[str, Any], ops: Sequence[Op] | Context = ()) -> str:
    """One line on what a result (as in results.json) found; an unknown one says why."""
    cx = ops if isinstance(ops, Context) else Context(ops)
    name = str(d.get("checker", ""))
    fn = SUMMARIES.get(name) or SUMMARIES.get(name.split(" ", 1)[0])
    if fn is None:
        fn = _composite if d.get("children") else None
    unknown = d.get("valid") not in (True, False)
    text = fn(d, cx) if fn is not None and (not unknown or fn in _NEUTRAL) else ""
    if unknown:
        why = _why_unknown(d)
        text = f"unknown: {why}" + (f" ({text})" if text else "")
    return text


def headline(d: Mapping[str, Any], ops: Sequence[Op] | Context = ()) -> str:
    """The first sentence a reader sees: for a failure, the first checker that failed and what
    it found (not just that something under the top failed). Uses stored summaries."""
    cx = ops if isinstance(ops, Context) else Context(ops)

    def said(x: Mapping[str, Any]) -> str:
        return str(x.get("summary") or summarize(x, cx))

    top = d.get("valid")
    node = d
    while True:  # down to the first checker with the top's verdict that has no parts
        kids = [c for c in node.get("children") or [] if c.get("valid") == top]
        if not kids:
            break
        node = kids[0]
    if node is d:
        return said(d)
    text = f"{node.get('checker')}: {said(node)}"
    if top is True:
        leaves = _leaves(d)
        text += f" (all {len(leaves)} checks passed)" if len(leaves) > 1 else ""
    return text


def _leaves(d: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kids = d.get("children") or []
    return [x for c in kids for x in _leaves(c)] if kids else [d]


def _why_unknown(d: Mapping[str, Any]) -> str:
    if d.get("reason"):
        return str(d["reason"])
    unknown = [c for c in d.get("children") or [] if c.get("valid") not in (True, False)]
    if unknown:
        c = unknown[0]
        return f"{c.get('checker')} could not decide: {_why_unknown(c)}"
    return "the checker gave no reason"


def annotate(result: Result, ops: Sequence[Op] | Context) -> Result:
    """Fill in the summary of a result and of every result under it."""
    cx = ops if isinstance(ops, Context) else Context(ops)
    for c in result.children:
        annotate(c, cx)
    shallow = {
        "checker": result.checker,
        "valid": result.valid,
        **result.details,
        "children": [
            {"checker": c.checker, "valid": c.valid, **c.details} for c in result.children
        ],
    }
    result.summary = summarize(shallow, cx)
    return result
