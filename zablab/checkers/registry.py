"""Checkers by name, for `zablab check --checker NAME` and the harness's test definitions.

Each entry takes the history and an options mapping and returns a Result. Options used:
`initial`, `keyed` (zookeeper); `linearizable` (set, counter); `exclusive` (fencing);
`dir` (perf, timeline: where files go); `trace` (zab: trace file(s) or directory), `quiesced`
(zab); `model`, `timeout` (linearizable);
`max_unavailable`, `session_timeout` (availability, seconds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zablab.checkers.result import Result, compose
from zablab.errors import UserError
from zablab.history.jsonl import Op

CheckerFn = Callable[[Sequence[Op], Mapping[str, Any]], Result]


@dataclass(frozen=True)
class Entry:
    fn: CheckerFn
    help: str
    #: what `zablab check PATH` names: a history, or a trace (a file, or a directory of them)
    reads: str = "history"
    #: the modules `fn` imports, loaded once before worker processes are forked from this one
    modules: tuple[str, ...] = ()


def _zookeeper(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.zookeeper import check_zookeeper

    return check_zookeeper(ops, initial=o.get("initial"), keyed=o.get("keyed"))


def _set(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.workloads import check_set

    return check_set(ops, linearizable=bool(o.get("linearizable", False)))


def _counter(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.workloads import check_counter

    return check_counter(
        ops, initial=int(o.get("initial") or 0), linearizable=bool(o.get("linearizable", False))
    )


def _unique_ids(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.workloads import check_unique_ids

    return check_unique_ids(ops)


def _queue(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.workloads import check_queue

    return check_queue(ops, named=bool(o.get("named", False)))


def _fencing(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.fencing import check_fencing

    return check_fencing(ops, exclusive=bool(o.get("exclusive", False)))


def _availability(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.availability import check_availability

    bound = o.get("max_unavailable")
    return check_availability(
        ops,
        bound=None if bound is None else float(bound),
        session_timeout=float(o.get("session_timeout", 10.0)),
    )


def _stats(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.stats import check_stats

    return check_stats(ops)


def _errors(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.stats import check_errors

    return check_errors(ops)


def _out_dir(o: Mapping[str, Any]) -> Path:
    if not o.get("dir"):
        raise UserError("this checker writes files: give an output directory (option 'dir')")
    return Path(o["dir"])


def _perf(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.perf import check_perf

    return check_perf(ops, _out_dir(o))


def _timeline(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.timeline import render_timeline

    p = render_timeline(ops, _out_dir(o) / "timeline.html", title=str(o.get("title", "History")))
    if not any(op.is_client and op.type != "invoke" for op in ops):
        return Result(
            "timeline", "unknown", {"file": str(p), "reason": "no client operation completed"}
        )
    return Result("timeline", True, {"file": str(p)})


def _zab(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.zab import check_zab_trace, load_zab_trace

    trace = o.get("trace")
    if not trace:
        raise UserError("the zab checker reads replica traces: give them with option 'trace'")
    paths = [trace] if isinstance(trace, str | Path) else list(trace)
    return check_zab_trace(load_zab_trace(*paths), quiesced=bool(o.get("quiesced", False)))


def _linearizable(ops: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.linearizable import check_linearizable
    from zablab.checkers.models import MODELS, get_model

    model = o.get("model")
    if not model:
        raise UserError(f"--model is required for the linearizable checker ({', '.join(MODELS)})")
    return check_linearizable(ops, get_model(str(model)), o.get("timeout"))


CHECKERS: dict[str, Entry] = {
    "linearizable": Entry(
        _linearizable,
        "linearizability against a model (--model)",
        modules=("zablab.checkers.linearizable", "zablab.checkers.models"),
    ),
    "zookeeper": Entry(
        _zookeeper,
        "ZooKeeper's guarantees: linearizable writes, ordered sequential reads",
        modules=("zablab.checkers.zookeeper",),
    ),
    "zab": Entry(
        _zab,
        "ZAB's properties on replica traces (a file or a directory)",
        "trace",
        ("zablab.checkers.zab",),
    ),
    "set": Entry(_set, "set: lost, stale, unexpected, duplicated elements"),
    "counter": Entry(_counter, "counter: reads within the range the adds allow"),
    "unique-ids": Entry(_unique_ids, "unique ids: no id generated twice"),
    "queue": Entry(_queue, "queue: lost, duplicated, unexpected elements"),
    "fencing": Entry(_fencing, "lock with fencing tokens"),
    "availability": Entry(
        _availability, "time to recover after each fault; stretches with no successful op"
    ),
    "stats": Entry(_stats, "ok/fail/info counts per f; fails if some f never succeeded"),
    "errors": Entry(_errors, "errors grouped by kind; fails on unhandled exceptions"),
    "perf": Entry(_perf, "latency and throughput plots (PNG) with fault periods shaded"),
    "timeline": Entry(_timeline, "per-process timeline (HTML)"),
}


def get_entry(name: str) -> Entry:
    try:
        return CHECKERS[name]
    except KeyError:
        raise UserError(f"unknown checker {name!r}; choose from: {', '.join(CHECKERS)}") from None


def get_checker(name: str) -> CheckerFn:
    return get_entry(name).fn


def run_checkers(names: Sequence[str], ops: Sequence[Op], options: Mapping[str, Any]) -> Result:
    """Run several checkers and compose their results (false beats unknown beats true)."""
    ops = list(ops)
    fns = [(n, get_checker(n)) for n in names]
    return compose("composed", [fn(ops, options) for _, fn in fns])
