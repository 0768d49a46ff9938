"""Leader election and primary/standby failover, judged at the fenced resource.

ZooKeeper cannot promise that only one client believes it leads: a paused or partitioned
leader keeps believing it until it hears otherwise. What it can give is a token per
leadership (the czxid of the candidate node, a version bumped in a multi), and a resource that
refuses a token lower than one it has accepted turns "two leaders believe" into "one leader
acts". So safety is judged where the work lands, the resource's log of accepted and rejected
writes, not by asking the candidates what they believed.

History (JSONL, docs/checkers.md "election"):
- `write` (ok: the resource accepted it, fail: refused): `token` (int, or null for an
  unfenced write), `leader` (candidate name; default the process), `session`, and optionally
  `term` (which leadership of that leader and session wrote it, when the token does not say:
  an unfenced writer's own token), `conn_state` / `state_age_ms` (the writer's ZooKeeper
  connection state when it wrote, and for how long it had been in it). A write may be a completion without an invoke (the
  resource logs the instant it decided).
- `elect` ok: a candidate became leader (value: its token). Only counted.
- nemesis `lose-primary` (value `{"primary": name}` or null): a leader was taken away at
  this time (killed, paused, cut off); a new primary must work within the liveness bound.
- `wakeups` ok (value `{"scheme": "smallest"|"unique", "waiters": n, "woken": k}`): watch
  events the servers delivered at one leader change, counted on the server side.
- `candidates` ok (value `[{"path", "owner"}]`, `live_sessions`: [ids]): candidate znodes
  read after the run; one whose owner session is not live is an orphan.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from zablab.checkers.calls import INF, Call, hashable, pair_calls
from zablab.checkers.result import Result
from zablab.history.jsonl import Op

LIMIT = 20  # anomalies of each kind kept in the result
MAX_TERMS = 5000  # leadership terms compared pairwise for overlaps
DISCONNECTED = frozenset({"SUSPENDED", "LOST"})
SCHEMES = ("smallest", "unique")


@dataclass
class Term:
    """One leadership as the resource saw it: the accepted writes of one leader with one token
    (unfenced: of one leader, session and term)."""

    leader: Any
    session: Any
    tokens: set[Hashable] = field(default_factory=set)
    first: Call | None = None
    last: Call | None = None
    writes: int = 0

    def add(self, c: Call) -> None:
        self.writes += 1
        if self.session is None:
            self.session = c.extra.get("session")
        self.tokens.add(hashable(c.extra.get("token")))
        if self.first is None or c.end < self.first.end:
            self.first = c
        if self.last is None or c.start > self.last.start:
            self.last = c

    @property
    def name(self) -> str:
        return f"{self.leader}" + (f" (session {self.session})" if self.session else "")

    def describe(self) -> dict[str, Any]:
        assert self.first is not None and self.last is not None
        return {
            "leader": self.leader,
            "session": self.session,
            "tokens": sorted((t for t in self.tokens if t is not None), key=repr),
            "first_write_s": _s(self.first.end),
            "last_write_s": _s(self.last.start),
            "writes": self.writes,
        }


def _s(t: float) -> float | None:
    return None if t == INF else round(t / 1e9, 3)


def _leader(c: Call) -> Any:
    return c.extra.get("leader", c.process)


def _token(c: Call) -> Any:
    return c.extra.get("token")


def _is_token(t: Any) -> bool:
    return isinstance(t, int) and not isinstance(t, bool)


def check_election(
    ops: Iterable[Op],
    *,
    session_timeout: float = 10.0,
    slack: float = 2.0,
    grace_ms: float = 200.0,
    liveness: bool = True,
) -> Result:
    """Safety (no stale token accepted, no two leaderships interleaved at the resource, no work
    while disconnected), liveness (a new primary within `session_timeout + slack` seconds of
    each `lose-primary`), herd (wake-ups per leader change) and orphans."""
    ops = list(ops)
    calls = pair_calls(ops, include_nemesis=True, events=True)
    writes = [c for c in calls if c.f == "write" and c.process != "nemesis"]
    accepted = [c for c in writes if c.type == "ok"]
    problems: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "stale-token-accepted",
            "overlapping-leaders",
            "token-shared",
            "worked-while-disconnected",
            "slow-failover",
            "herd",
            "not-all-woken",
            "orphans",
        )
    }
    checked: list[str] = []

    def add(kind: str, detail: str, **more: Any) -> None:
        problems[kind].append({"detail": detail, **more})

    if accepted:
        checked.append("safety")
        _stale(accepted, add)
        terms = _terms(accepted)
        _shared(terms, add)
        overlap_unknown = _overlaps(terms, add)
    else:
        terms, overlap_unknown = [], None
    for c in writes:
        state, age = c.extra.get("conn_state"), c.extra.get("state_age_ms")
        if state in DISCONNECTED and (age is None or float(age) > grace_ms):
            add(
                "worked-while-disconnected",
                f"{_leader(c)} wrote at {_s(c.start)} s while {state}"
                + (f" for {float(age):.0f} ms" if age is not None else "")
                + f"; a primary must stop at once (grace {grace_ms:g} ms)",
                op=c.describe(),
            )
    gaps = _liveness(calls, accepted, session_timeout + slack, add) if liveness else []
    if gaps:
        checked.append("liveness")
    herds = _herd(calls, add)
    if herds:
        checked.append("herd")
    listed = _orphans(calls, add)
    if listed:
        checked.append("orphans")

    failing = [k for k, v in problems.items() if v]
    details: dict[str, Any] = {
        "writes-accepted": len(accepted),
        "writes-rejected": sum(1 for c in writes if c.type == "fail"),
        "unfenced-writes-accepted": sum(1 for c in accepted if _token(c) is None),
        "elections": sum(1 for c in calls if c.f == "elect" and c.type == "ok"),
        "leaderships": len(terms),
        "checked": checked,
        "failures": failing,
    }
    if gaps:
        details["failover-s"] = gaps
    if herds:
        details["wakeups"] = herds
    for k, found in problems.items():
        details[f"{k}-count"] = len(found)
        if found:
            details[k] = found[:LIMIT]
    if overlap_unknown:
        details["overlap-unchecked"] = overlap_unknown
    if not checked:
        return Result(
            "election",
            "unknown",
            {
                **details,
                "reason": "nothing to judge: no accepted write, wake-up count, "
                "failover or candidate listing in the history",
            },
        )
    if not failing and overlap_unknown:
        return Result("election", "unknown", {**details, "reason": overlap_unknown})
    return Result("election", not failing, details)


def _stale(accepted: list[Call], add: Any) -> None:
    """An accepted write whose token is lower than one accepted before it began."""
    fenced = [c for c in accepted if _is_token(_token(c))]
    ends = sorted(fenced, key=lambda c: c.end)
    best: Call | None = None
    i = 0
    for c in sorted(fenced, key=lambda c: c.start):
        while i < len(ends) and ends[i].end < c.start:
            if best is None or _token(ends[i]) > _token(best):
                best = ends[i]
            i += 1
        if best is not None and _token(c) < _token(best):
            add(
                "stale-token-accepted",
                f"the resource accepted {_leader(c)}'s token {_token(c)} at {_s(c.start)} s "
                f"after {_leader(best)}'s token {_token(best)} at {_s(best.end)} s",
                ops=[best.describe(), c.describe()],
            )


def _terms(accepted: list[Call]) -> list[Term]:
    by: dict[Hashable, Term] = {}
    for c in accepted:
        # a token names a leadership; without one, the writer's own term (its token, not
        # sent) does, or else its session (a write made while disconnected may not know its
        # session: the token or term still places it)
        tok, term = _token(c), c.extra.get("term")
        if _is_token(tok):
            key: Hashable = (hashable(_leader(c)), tok)
        elif term is not None:
            key = (hashable(_leader(c)), "term", hashable(term))
        else:
            key = (hashable(_leader(c)), "session", hashable(c.extra.get("session")))
        t = by.get(key)
        if t is None:
            t = by[key] = Term(_leader(c), c.extra.get("session"))
        t.add(c)
    return sorted(by.values(), key=lambda t: t.first.end if t.first else INF)


def _shared(terms: list[Term], add: Any) -> None:
    """Two leaders writing with one token: the resource cannot tell them apart."""
    owner: dict[Hashable, Term] = {}
    for t in terms:
        for tok in t.tokens:
            if tok is None:
                continue
            o = owner.setdefault(tok, t)
            if o is not t:
                add(
                    "token-shared",
                    f"{o.name} and {t.name} both wrote with token {tok!r}",
                    leaders=[o.describe(), t.describe()],
                )


def _overlaps(terms: list[Term], add: Any) -> str | None:
    """Leaderships whose accepted writes interleave in real time: a write of A completed
    before one of B began and a write of B completed before a later one of A began."""
    if len(terms) > MAX_TERMS:
        return f"{len(terms)} leaderships, more than the {MAX_TERMS} compared for overlaps"
    for i, a in enumerate(terms):
        assert a.first is not None and a.last is not None
        for b in terms[i + 1 :]:
            assert b.first is not None and b.last is not None
            if b.first.end >= a.last.start:
                continue  # b began after a's last write: a handover, not an overlap
            if a.first.end < b.last.start:
                add(
                    "overlapping-leaders",
                    f"{a.name} had a write accepted at {_s(a.last.start)} s, after {b.name} "
                    f"began leading at {_s(b.first.end)} s (two leaders at once)",
                    leaders=[a.describe(), b.describe()],
                )
    return None


def _liveness(calls: list[Call], accepted: list[Call], bound: float, add: Any) -> list[float]:
    losses = [c for c in calls if c.process == "nemesis" and c.f == "lose-primary"]
    if not losses:
        return []
    horizon = max((c.start for c in calls), default=0.0)
    by_start = sorted(accepted, key=lambda c: c.start)
    gaps: list[float] = []
    for loss in losses:
        lost = (loss.value or {}).get("primary") if isinstance(loss.value, dict) else None
        t0 = loss.start
        nxt = next(
            (
                c
                for c in by_start
                if c.start > t0 and (lost is None or hashable(_leader(c)) != hashable(lost))
            ),
            None,
        )
        if nxt is None:
            if horizon - t0 < bound * 1e9:
                continue  # the history ends too soon to say
            add(
                "slow-failover",
                f"no new primary worked after {lost or 'the primary'} was lost at {_s(t0)} s "
                f"(bound {bound:g} s = session timeout + slack)",
                loss=loss.describe(),
            )
            gaps.append(INF)
            continue
        gap = (nxt.start - t0) / 1e9
        gaps.append(round(gap, 3))
        if gap > bound:
            add(
                "slow-failover",
                f"{_leader(nxt)} took over {gap:.2f} s after {lost or 'the primary'} was lost at "
                f"{_s(t0)} s; the bound is {bound:g} s (session timeout + slack)",
                loss=loss.describe(),
                first_write=nxt.describe(),
            )
    return gaps


def _herd(calls: list[Call], add: Any) -> list[dict[str, Any]]:
    out = []
    for c in calls:
        if c.f != "wakeups" or c.type != "ok" or not isinstance(c.value, dict):
            continue
        v = c.value
        scheme, waiters, woken = v.get("scheme"), int(v.get("waiters", 0)), int(v.get("woken", 0))
        out.append({"scheme": scheme, "waiters": waiters, "woken": woken, "at_s": _s(c.start)})
        if scheme == "smallest" and woken > 1:
            add(
                "herd",
                f"one leader change woke {woken} of {waiters} waiters; watching the predecessor "
                "wakes exactly one",
                observation=v,
            )
        elif scheme == "unique" and woken < waiters:
            add(
                "not-all-woken",
                f"the leader's node went and only {woken} of {waiters} waiters heard of it; "
                "every loser must watch it to race again",
                observation=v,
            )
    return out


def _orphans(calls: list[Call], add: Any) -> int:
    listed = 0
    for c in calls:
        if c.f != "candidates" or c.type != "ok" or not isinstance(c.value, list):
            continue
        listed += 1
        live = {str(s) for s in c.extra.get("live_sessions") or []}
        dead = [n for n in c.value if str(n.get("owner")) not in live]
        if dead:
            add(
                "orphans",
                f"{len(dead)} candidate node(s) outlived their session: "
                + ", ".join(f"{n.get('path')} (owner {n.get('owner')})" for n in dead[:5]),
                nodes=dead[:LIMIT],
            )
    return listed
