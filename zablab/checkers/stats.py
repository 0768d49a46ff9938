"""Outcome counts per f, and the errors clients ran into (Jepsen's stats and
unhandled-exceptions checkers).

A test in which some operation never succeeded checked nothing about it, so `check_stats`
fails then, as Jepsen's does. Errors the client classified go in `error`; an error it did not
expect goes in `exception`, and `check_errors` fails on those: the workload did not do what
it meant to do.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from zablab.checkers.calls import pair_calls
from zablab.checkers.result import Result
from zablab.history.jsonl import Op


def check_stats(ops: Iterable[Op]) -> Result:
    """ok/fail/info counts per f; invalid when some f never succeeded."""
    by_f: dict[str, Counter[str]] = defaultdict(Counter)
    completed = 0
    for c in pair_calls(ops):
        by_f[c.f][c.type] += 1
        completed += c.complete is not None
    table: dict[str, dict[str, Any]] = {}
    for f, n in sorted(by_f.items()):
        total = sum(n.values())
        table[f] = {
            "count": total,
            "ok-count": n["ok"],
            "fail-count": n["fail"],
            "info-count": n["info"],
            "ok-fraction": round(n["ok"] / total, 4) if total else 0.0,
        }
    never = [f for f, row in table.items() if row["ok-count"] == 0]
    totals = Counter[str]()
    for n in by_f.values():
        totals.update(n)
    details: dict[str, Any] = {
        "count": sum(totals.values()),
        "ok-count": totals["ok"],
        "fail-count": totals["fail"],
        "info-count": totals["info"],
        "by-f": table,
    }
    if never:
        details["never-succeeded"] = never
    if not completed:
        reason = "no client operation completed" if table else "no client operations"
        return Result("stats", "unknown", {**details, "reason": reason})
    return Result("stats", not never, details)


def _kind(e: Any) -> str:
    if isinstance(e, str):
        return e.split(":", 1)[0].split(" ", 1)[0] or e
    if isinstance(e, list | tuple) and e:
        return _kind(e[0])
    if isinstance(e, dict):
        for k in ("type", "class", "name", "code"):
            if k in e:
                return str(e[k])
    return json.dumps(e, sort_keys=True, default=str)[:80]


def check_errors(ops: Iterable[Op], *, example_limit: int = 3) -> Result:
    """Group the `error` and `exception` fields of failed and crashed ops by kind."""
    ops = list(ops)
    groups: dict[str, dict[str, Any]] = {}
    unhandled: dict[str, dict[str, Any]] = {}
    for op in ops:
        if op.type not in ("fail", "info") or not op.is_client:
            continue
        for field, table in (("error", groups), ("exception", unhandled)):
            if field not in op.extra:
                continue
            k = _kind(op.extra[field])
            g = table.setdefault(k, {"count": 0, "examples": []})
            g["count"] += 1
            if len(g["examples"]) < example_limit:
                g["examples"].append(op.to_dict())
    details: dict[str, Any] = {
        "errors": dict(sorted(groups.items(), key=lambda kv: -kv[1]["count"])),
        "unhandled": dict(sorted(unhandled.items(), key=lambda kv: -kv[1]["count"])),
    }
    if not any(op.is_client and op.type != "invoke" for op in ops):
        details["reason"] = "no client operation completed, so there is nothing to check"
        return Result("errors", "unknown", details)
    return Result("errors", not unhandled, details)
