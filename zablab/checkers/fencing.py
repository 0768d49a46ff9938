"""Locks with fencing tokens: the only safe use of a ZooKeeper lock.

A ZooKeeper lock cannot guarantee mutual exclusion by itself (a paused holder's session expires
and another client acquires the lock while the first still believes it holds it). Fencing
tokens (e.g. the lock znode's sequence number or czxid) make the protected resource reject
the old holder. History: `acquire` -> token (the completion's value), `release`, and
`write [token data]` (ok: the resource accepted it; fail: it refused).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from zablab.checkers.calls import INF, Call, hashable, pair_calls
from zablab.checkers.result import Result
from zablab.history.jsonl import Op

LIMIT = 20


def _token(c: Call) -> Any:
    if "token" in c.extra:
        return c.extra["token"]
    if c.f == "acquire":
        return c.complete.value if c.complete is not None else None
    v = c.invoke.value
    return v[0] if isinstance(v, list | tuple) and v else v


def _holder(c: Call) -> Hashable:
    s = c.extra.get("session")
    return ("session", hashable(s)) if s is not None else ("process", hashable(c.process))


def check_fencing(ops: Iterable[Op], *, exclusive: bool = False) -> Result:
    """At most one holder per token, tokens increase, and no write accepted with a stale token.

    Overlapping holds (a holder's acquire acknowledged before another's release began) are
    reported; they fail the check only with `exclusive=True`, since fencing exists because
    they happen.
    """
    calls = pair_calls(ops)
    acquires = [c for c in calls if c.f == "acquire" and c.type == "ok"]
    writes = [c for c in calls if c.f == "write" and c.type == "ok"]
    problems: dict[str, list[dict[str, Any]]] = {
        "token-reused": [],
        "token-decreased": [],
        "stale-token-accepted": [],
        "unknown-token": [],
        "overlapping-holds": [],
    }

    def add(kind: str, detail: str, *cs: Call) -> None:
        problems[kind].append({"detail": detail, "ops": [c.describe() for c in cs]})

    by_token: dict[Hashable, Call] = {}
    for c in acquires:
        t = hashable(_token(c))
        if t in by_token:
            add("token-reused", f"token {t!r} handed to two acquires", by_token[t], c)
        by_token.setdefault(t, c)

    before = _max_token_before(acquires)
    for b in acquires:
        a = before.get(id(b))
        if a is not None and _lt(_token(b), _token(a)):
            add("token-decreased", f"token {_token(b)!r} issued after {_token(a)!r}", a, b)

    granted = {hashable(_token(c)) for c in calls if c.f == "acquire" and c.type != "fail"}
    newest = _max_token_before(writes)
    for w in writes:
        t = _token(w)
        if hashable(t) not in granted:
            add("unknown-token", f"write accepted with token {t!r}, which no acquire returned", w)
        v = newest.get(id(w))
        if v is not None and _lt(t, _token(v)):
            add(
                "stale-token-accepted",
                f"write with token {t!r} accepted after one with token {_token(v)!r}",
                v,
                w,
            )

    holds = sorted(_holds(calls), key=lambda h: h[2])
    for i, (h1, a1, _s1, e1) in enumerate(holds):
        for h2, a2, s2, _e2 in holds[i + 1 :]:
            if s2 >= e1:
                break
            if h1 != h2:
                add("overlapping-holds", "both held the lock at once", a1, a2)

    failing = [k for k, v in problems.items() if v and (k != "overlapping-holds" or exclusive)]
    details: dict[str, Any] = {
        "acquired": len(acquires),
        "writes-accepted": len(writes),
        "failures": failing,
    }
    for k, found in problems.items():
        details[f"{k}-count"] = len(found)
        if found:
            details[k] = found[:LIMIT]
    if not acquires:
        return Result("fencing", "unknown", {**details, "reason": "no successful acquire"})
    return Result("fencing", not failing, details)


def _max_token_before(calls: list[Call]) -> dict[int, Call]:
    """For each call, the call with the highest token among those that ended before it began."""
    ends = sorted(calls, key=lambda c: c.end)
    best: Call | None = None
    i = 0
    out: dict[int, Call] = {}
    for c in sorted(calls, key=lambda c: c.start):
        while i < len(ends) and ends[i].end < c.start:
            if best is None or _lt(_token(best), _token(ends[i])):
                best = ends[i]
            i += 1
        if best is not None:
            out[id(c)] = best
    return out


def _lt(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return False


def _holds(calls: list[Call]) -> list[tuple[Hashable, Call, float, float]]:
    """Intervals in which a holder certainly held the lock: acquire acknowledged to release
    invoked (or to the holder's last op if it never released)."""
    out: list[tuple[Hashable, Call, float, float]] = []
    by_holder: dict[Hashable, list[Call]] = {}
    for c in calls:
        by_holder.setdefault(_holder(c), []).append(c)
    for h, cs in by_holder.items():
        cs.sort(key=lambda c: c.start)
        for i, c in enumerate(cs):
            if c.f != "acquire" or c.type != "ok":
                continue
            end: float = INF
            for d in cs[i + 1 :]:
                if d.f in ("release", "acquire"):
                    end = d.start
                    break
            if end == INF:
                last = max((d.end for d in cs if d.end != INF), default=c.end)
                end = last
            if c.end < end:
                out.append((h, c, c.end, end))
    return out
