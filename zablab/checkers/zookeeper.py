"""ZooKeeper's own consistency guarantees, checked with the zxids ZooKeeper returns.

ZooKeeper is not linearizable: writes are, but a read is served by whichever server the session
is connected to and may be stale. What it promises (programmer's guide, "ZooKeeper guarantees";
the ZooKeeper paper's "linearizable writes" and "FIFO client order"):

- one total order of writes, the zxid order, which respects real time (linearizable writes);
- each session's requests take effect in the order sent, and a session never sees an older
  state than one it has already seen, even after reconnecting to another server (single system
  image);
- a read returns the state after some prefix of that write order, at or after its session's
  current point (ordered sequential consistency), never a state from the future.

Every ZooKeeper state is "all txns up to zxid p", so each op can be placed at a point of the
write order: a write at its own zxid, a read at some p with mzxid <= p < the next write of that
key. This checker places each session's ops greedily at the lowest consistent point and reports
where no point exists. docs/checkers.md lists the fields the harness must record.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from zablab.checkers.calls import INF, Call, hashable, pair_calls
from zablab.checkers.result import Result
from zablab.errors import UserError
from zablab.history.jsonl import Op

READ_FS = frozenset({"read", "get", "sync-read"})  # sync-read: zablab's sync, then read
WRITE_FS = frozenset({"write", "set", "put"})
CAS_FS = frozenset({"cas"})


@dataclass(slots=True)
class Version:
    """One value a key held: written by `call` (None for the initial value) at `zxid`.

    A version seen only by reads was written by one of `cands`, the ops of unknown outcome
    that wrote its value (`call` is then just the first of them, for reports); `deadline` is
    the earliest end of a read that saw it, `reader` the first such read.
    """

    key: Hashable
    zxid: int
    value: Hashable
    call: Call | None
    cands: list[Call] = field(default_factory=list)
    deadline: float = INF
    reader: Call | None = None

    @property
    def start(self) -> float:
        """The earliest its writer can have been invoked."""
        if self.cands:
            return min(w.start for w in self.cands)
        return self.call.start if self.call is not None else -INF

    @property
    def end(self) -> float:
        """The latest its writer can have completed."""
        if self.cands:
            return max(w.end for w in self.cands)
        return self.call.end if self.call is not None else -INF

    def acked_before(self, t: float) -> bool:
        """Its writer was acknowledged before t, whichever candidate it was."""
        ws = self.cands or ([self.call] if self.call is not None else [])
        return bool(ws) and all(w.type == "ok" and w.end < t for w in ws)


def parse_zxid(v: Any) -> int | None:
    """A zxid as an int; accepts ints and strings such as "0x100000003"."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return None
    return None


class _Decoder:
    """Splits an op's value into key and payload: a `key` field, Jepsen's [k v], or one register."""

    def __init__(self, calls: list[Call], keyed: bool | None):
        self.keyed = _detect_keyed(calls) if keyed is None else keyed

    def key(self, c: Call) -> Hashable:
        if "key" in c.extra:
            return hashable(c.extra["key"])
        if self.keyed:
            v = c.invoke.value
            return hashable(v[0]) if isinstance(v, list | tuple) and v else None
        return None

    def arg(self, c: Call) -> Any:
        """The invoke's payload: the value written, or [expected new] of a cas."""
        v = c.invoke.value
        if "key" in c.extra or not self.keyed:
            return v
        return v[1] if isinstance(v, list | tuple) and len(v) == 2 else None

    def out(self, c: Call) -> Any:
        """The value a read returned."""
        v = c.complete.value if c.complete is not None else None
        if "key" in c.extra or not self.keyed:
            return v
        return v[1] if isinstance(v, list | tuple) and len(v) == 2 else v


def _detect_keyed(calls: list[Call]) -> bool:
    seen = False
    for c in calls:
        if c.f not in READ_FS | WRITE_FS | CAS_FS or "key" in c.extra:
            continue
        v = c.invoke.value
        if not (isinstance(v, list | tuple) and len(v) == 2):
            return False
        if c.f in CAS_FS and not (isinstance(v[1], list | tuple) and len(v[1]) == 2):
            return False
        seen = True
    return seen


class _Report:
    def __init__(self, limit: int):
        self.limit = limit
        self.by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, kind: str, detail: str, *calls: Call | None, **more: Any) -> None:
        self.counts[kind] += 1
        if len(self.by_type[kind]) < self.limit:
            entry: dict[str, Any] = {"type": kind, "detail": detail}
            entry["ops"] = [c.describe() for c in calls if c is not None]
            entry.update(more)
            self.by_type[kind].append(entry)


def check_zookeeper(
    ops: Iterable[Op],
    *,
    initial: Any = None,
    keyed: bool | None = None,
    limit: int = 20,
) -> Result:
    """Check ZooKeeper's guarantees on a register/kv history with zxids.

    `initial` is every key's value before the test (None: the znode does not exist);
    `keyed` forces or forbids [key value] decoding (default: detected).
    """
    ops = list(ops)
    calls = [c for c in pair_calls(ops) if c.f in READ_FS | WRITE_FS | CAS_FS]
    dec = _Decoder(calls, keyed)
    init = hashable(initial)
    rep = _Report(limit)

    writes = [c for c in calls if c.f not in READ_FS]
    reads = sorted((c for c in calls if c.f in READ_FS and c.type == "ok"), key=lambda c: c.start)

    versions: dict[Hashable, dict[int, Version]] = defaultdict(dict)
    by_zxid: dict[int, Call] = {}
    unrevealed: dict[tuple[Hashable, Hashable], list[Call]] = defaultdict(list)
    failed: dict[tuple[Hashable, Hashable], list[Call]] = defaultdict(list)
    by_value: dict[tuple[Hashable, Hashable], list[Version]] = defaultdict(list)
    revealed: dict[tuple[Hashable, Hashable], list[Version]] = defaultdict(list)
    first_write: dict[Hashable, int] = {}

    def written(c: Call) -> Hashable:
        a = dec.arg(c)
        if c.f in CAS_FS:
            return hashable(a[1]) if isinstance(a, list | tuple) and len(a) == 2 else None
        return hashable(a)

    def register(c: Call, z: int) -> Version:
        key = dec.key(c)
        other = by_zxid.get(z)
        if other is not None and other is not c:
            rep.add("duplicate-zxid", f"two writes carry zxid {z:#x}", other, c)
        by_zxid[z] = c
        v = versions[key].setdefault(z, Version(key, z, written(c), c))
        if v.call is c:
            by_value[(key, v.value)].append(v)
            first_write[key] = min(first_write.get(key, z), z)
        return v

    def reveal(r: Call, key: Hashable, val: Hashable, z: int, cands: list[Call]) -> Version:
        """A version only reads saw: any of `cands` may have written it (matched later)."""
        other = by_zxid.get(z)
        if other is not None:
            rep.add("duplicate-zxid", f"two writes carry zxid {z:#x}", other, r)
        by_zxid[z] = cands[0]
        v = Version(key, z, val, cands[0], list(cands), r.end, r)
        versions[key][z] = v
        by_value[(key, val)].append(v)
        revealed[(key, val)].append(v)
        first_write[key] = min(first_write.get(key, z), z)
        return v

    acked_with_zxid = 0
    for c in writes:
        key, val = dec.key(c), written(c)
        z = parse_zxid(c.extra.get("zxid")) if c.type == "ok" else None
        if c.type == "fail":
            failed[(key, val)].append(c)
        elif z is not None:
            register(c, z)
            acked_with_zxid += 1
        else:
            unrevealed[(key, val)].append(c)

    has_zxids = acked_with_zxid > 0 or any(
        parse_zxid(c.extra.get("zxid")) is not None for c in reads
    )

    # Reads name the version they saw: reveal crashed writes, and flag values nobody wrote.
    read_version: dict[int, Version] = {}
    for r in reads:
        key, val = dec.key(r), hashable(dec.out(r))
        z = parse_zxid(r.extra.get("zxid"))
        known = versions[key]
        if z is not None and z in known:
            v = known[z]
            if v.value != val:
                rep.add(
                    "read-value-mismatch",
                    f"read {val!r} at zxid {z:#x}, but that zxid wrote {v.value!r}",
                    r,
                    v.call,
                )
                continue
            v.deadline = min(v.deadline, r.end)
            read_version[id(r)] = v
            continue
        cands = [w for w in unrevealed.get((key, val), []) if w.start <= r.end]
        first = first_write.get(key)
        if val == init and (z is None or z == 0 or first is None or z < first):
            if not cands or z is None or z == 0:
                v = known.get(z or 0) or Version(key, z or 0, init, None)
                if v.call is None:
                    if (z or 0) not in known:
                        known[z or 0] = v
                        by_value[(key, init)].append(v)
                    read_version[id(r)] = v
                    continue
        if cands:
            if z is None:
                continue  # a crashed write took effect, but where in the order is unknown
            read_version[id(r)] = reveal(r, key, val, z, cands)
            continue
        if z is None:
            matches = by_value.get((key, val), [])
            if len(matches) == 1:
                read_version[id(r)] = matches[0]
                continue
            if matches:
                continue
        later = [w for w in unrevealed.get((key, val), []) if w.start > r.end]
        if later:
            rep.add(
                "read-from-future",
                f"read {val!r} before any write of it was invoked",
                r,
                later[0],
            )
        elif (key, val) in failed:
            rep.add(
                "read-of-failed-write",
                f"read {val!r}, written only by ops that failed",
                r,
                failed[(key, val)][0],
            )
        else:
            rep.add("read-of-unwritten-value", f"read {val!r}, which no op wrote", r)

    # zxids of the writes per key (initial versions are no writes)
    zs = {k: sorted(z for z, v in vs.items() if v.call is not None) for k, vs in versions.items()}

    def next_write(key: Hashable, z: int) -> Version | None:
        lst = zs.get(key, [])
        i = bisect.bisect_right(lst, z)
        return versions[key][lst[i]] if i < len(lst) else None

    for r in reads:
        seen = read_version.get(id(r))
        if seen is not None and seen.call is not None and seen.start > r.end:
            rep.add(
                "read-from-future",
                f"read zxid {seen.zxid:#x}, written by an op invoked after the read completed",
                r,
                *(seen.cands or [seen.call]),
            )

    _check_write_order(versions, rep)
    _check_cas(versions, zs, unrevealed, revealed, dec, init, rep)
    stale = _check_sessions(calls, dec, read_version, next_write, rep)
    _check_synced_reads(reads, dec, read_version, versions, rep)

    unchecked = sum(1 for r in reads if id(r) not in read_version)
    details: dict[str, Any] = {
        "writes": len(writes),
        "reads": len(reads),
        "sessions": len({_session(c) for c in calls}),
        "stale-reads": stale,
        "reads-unplaced": unchecked,
        "anomaly-types": sorted(rep.counts),
        "anomaly-counts": dict(rep.counts),
        "anomalies": {k: v for k, v in rep.by_type.items()},
    }
    if rep.counts:
        return Result("zookeeper", False, details)
    if not any(c.type in ("ok", "fail") for c in calls):
        details["reason"] = (
            "no read, write or cas completed, so there is nothing to check"
            if calls
            else "the history holds no read, write or cas, so there is nothing to check"
        )
        return Result("zookeeper", "unknown", details)
    if not has_zxids and (writes or reads):
        details["reason"] = (
            "the history records no zxids, so write order and session order cannot be checked; "
            "record Stat.mzxid as `zxid` on ok reads and writes"
        )
        return Result("zookeeper", _fallback_linearizable_writes(ops, dec), details)
    return Result("zookeeper", True, details)


def _session(c: Call) -> Hashable:
    s = c.extra.get("session")
    return ("session", hashable(s)) if s is not None else ("process", hashable(c.process))


def _check_write_order(versions: dict[Hashable, dict[int, Version]], rep: _Report) -> None:
    """Linearizable writes: a write that completed before another began has the smaller zxid."""
    ws = sorted(
        (v for vs in versions.values() for v in vs.values() if v.call is not None),
        key=lambda v: v.zxid,
        reverse=True,
    )
    earliest: Version | None = None  # among writes with larger zxids, the one that ended first
    for v in ws:
        if earliest is not None and earliest.end < v.start:
            rep.add(
                "write-order-violates-real-time",
                f"zxid {earliest.zxid:#x} completed before zxid {v.zxid:#x} was invoked",
                earliest.call,
                v.call,
            )
        if earliest is None or v.end < earliest.end:
            earliest = v


def _check_cas(
    versions: dict[Hashable, dict[int, Version]],
    zs: dict[Hashable, list[int]],
    unrevealed: dict[tuple[Hashable, Hashable], list[Call]],
    revealed: dict[tuple[Hashable, Hashable], list[Version]],
    dec: _Decoder,
    init: Hashable,
    rep: _Report,
) -> None:
    """In zxid order, each successful cas found the value it expected.

    A version only reads saw was written by one of several ops of unknown outcome, and each op
    writes at most once: such versions get distinct writers by bipartite matching, and are
    reported only when no choice of distinct candidates explains them all.
    """
    free = _free_writers(unrevealed, revealed)

    def explains(w: Call, key: Hashable, prev: Hashable) -> bool:
        if w.f not in CAS_FS:
            return True
        a = dec.arg(w)
        expected = hashable(a[0]) if isinstance(a, list | tuple) and len(a) == 2 else None
        if expected == prev:
            return True
        # an unobserved write of the expected value may have come just before it
        return any(u.start <= w.end for u in free.get((key, expected), []))

    prev_of: dict[int, Hashable] = {}
    for key, lst in zs.items():
        prev = init
        for z in lst:
            v = versions[key][z]
            c = v.call
            if not v.cands and c is not None and c.f in CAS_FS and not explains(c, key, prev):
                rep.add(
                    "cas-precondition",
                    f"cas expected {_expected(dec, c)!r} but the previous write in zxid order "
                    f"left {prev!r}",
                    c,
                )
            prev_of[id(v)] = prev
            prev = v.value

    for (key, val), vs in revealed.items():
        edges = [[w for w in v.cands if w.start <= v.deadline] for v in vs]
        short = [i for i in _unmatched(edges) if edges[i]]  # empty: read-from-future already
        for i in short:
            rep.add(
                "read-of-unwritten-value",
                f"read {val!r} at zxid {vs[i].zxid:#x}, but each op that could have written it "
                "wrote another version of it",
                vs[i].reader,
                *edges[i],
            )
        if short:
            continue
        ok = [
            [w for w in e if explains(w, key, prev_of[id(v)])]
            for v, e in zip(vs, edges, strict=True)
        ]
        for i in _unmatched(ok):
            if not edges[i]:
                continue
            why = "none of them" if not ok[i] else "only ops needed for other versions"
            rep.add(
                "cas-precondition",
                f"zxid {vs[i].zxid:#x} wrote {val!r} after {prev_of[id(vs[i])]!r}, and {why} "
                "could have written it there",
                vs[i].reader,
                *edges[i],
            )


def _expected(dec: _Decoder, c: Call) -> Hashable:
    a = dec.arg(c)
    return hashable(a[0]) if isinstance(a, list | tuple) and len(a) == 2 else None


def _free_writers(
    unrevealed: dict[tuple[Hashable, Hashable], list[Call]],
    revealed: dict[tuple[Hashable, Hashable], list[Version]],
) -> dict[tuple[Hashable, Hashable], list[Call]]:
    """Ops of unknown outcome that may have written something no read saw.

    With more candidates than versions to explain, any one of them may be the spare, so all
    count; otherwise every candidate is needed for a version it was matched with.
    """
    free: dict[tuple[Hashable, Hashable], list[Call]] = {}
    for g, calls in unrevealed.items():
        vs = revealed.get(g, [])
        used = {id(w) for v in vs for w in v.cands}
        free[g] = calls if len(used) > len(vs) else [w for w in calls if id(w) not in used]
    return free


def _unmatched(edges: list[list[Call]]) -> list[int]:
    """Left vertices a maximum bipartite matching leaves unmatched (augmenting paths by BFS)."""
    owner: dict[int, int] = {}  # id(call) -> the left vertex it is matched to
    out = []
    for i, cs in enumerate(edges):
        spare = next((w for w in cs if id(w) not in owner), None)
        if spare is not None:  # greedy first: most histories need no augmenting
            owner[id(spare)] = i
            continue
        came: dict[int, tuple[int, int]] = {}  # left v -> (left u, call u wants from v)
        frontier, end = [i], None
        while frontier and end is None:
            nxt = []
            for u in frontier:
                for w in edges[u]:
                    v = owner.get(id(w))
                    if v is None:
                        end = (u, id(w))
                        break
                    if v != i and v not in came:
                        came[v] = (u, id(w))
                        nxt.append(v)
                if end is not None:
                    break
            frontier = nxt
        if end is None:
            out.append(i)
            continue
        u, w_id = end
        while True:  # flip the path: u takes w_id, freeing the call u held for its parent
            owner[w_id] = u
            if u == i:
                break
            u, w_id = came[u]
    return out


def _check_sessions(
    calls: list[Call],
    dec: _Decoder,
    read_version: dict[int, Version],
    next_write: Callable[[Hashable, int], Version | None],
    rep: _Report,
) -> int:
    """Each session moves forward through the write order; returns how many reads were stale."""
    stale = 0
    by_session: dict[Hashable, list[Call]] = defaultdict(list)
    for c in calls:
        by_session[_session(c)].append(c)
    for _sess, cs in by_session.items():
        cs.sort(key=lambda c: c.start)
        point = 0
        since: Call | None = None
        for c in cs:
            if c.type != "ok":
                continue
            if c.f not in READ_FS:
                z = parse_zxid(c.extra.get("zxid"))
                if z is None:
                    continue
                if z <= point:
                    rep.add(
                        "session-write-order",
                        f"write got zxid {z:#x}, not after zxid {point:#x} the session had seen",
                        since,
                        c,
                    )
                point, since = max(point, z), c
                continue
            v = read_version.get(id(c))
            if v is None:
                continue
            key = dec.key(c)
            lo = max(point, v.zxid)
            server = parse_zxid(c.extra.get("last_zxid"))
            if server is not None:
                if server < point:
                    rep.add(
                        "session-went-backwards",
                        f"reply from a server at zxid {server:#x}, behind zxid {point:#x} "
                        "the session had seen",
                        since,
                        c,
                    )
                elif server < v.zxid:
                    rep.add(
                        "read-from-future",
                        f"read zxid {v.zxid:#x} from a server that reports last zxid {server:#x}",
                        c,
                    )
                else:
                    lo = server
            nxt = next_write(key, v.zxid)
            if nxt is not None and nxt.zxid <= lo:
                if nxt.zxid <= point:
                    rep.add(
                        "session-went-backwards",
                        f"read zxid {v.zxid:#x} of {key!r}, but the session had already seen "
                        f"zxid {point:#x}, after the overwrite at {nxt.zxid:#x}",
                        since,
                        c,
                        nxt.call,
                    )
                else:
                    rep.add(
                        "read-older-than-server-state",
                        f"read zxid {v.zxid:#x} of {key!r} from a server at {lo:#x}, "
                        f"which includes the overwrite at {nxt.zxid:#x}",
                        c,
                        nxt.call,
                    )
            if nxt is not None and nxt.call is not None and nxt.end < c.start:
                stale += 1
            if lo > point:
                point, since = lo, c
    return stale


def _check_synced_reads(
    reads: list[Call],
    dec: _Decoder,
    read_version: dict[int, Version],
    versions: dict[Hashable, dict[int, Version]],
    rep: _Report,
) -> None:
    """Reads marked `final` or `sync` see every write acknowledged before they began."""
    for r in reads:
        if not (r.extra.get("final") or r.extra.get("sync")):
            continue
        v = read_version.get(id(r))
        if v is None:
            continue
        key = dec.key(r)
        done = [w for w in versions[key].values() if w.acked_before(r.start)]
        newest = max(done, key=lambda w: w.zxid, default=None)
        if newest is not None and newest.zxid > v.zxid:
            kind = "lost-write" if r.extra.get("final") else "stale-synced-read"
            rep.add(
                kind,
                f"read zxid {v.zxid:#x} of {key!r} after the write at zxid {newest.zxid:#x} "
                "was acknowledged",
                r,
                newest.call,
            )


def _fallback_linearizable_writes(ops: Iterable[Op], dec: _Decoder) -> Any:
    """Without zxids only the writes can be judged: linearizability of the write subhistory."""
    from zablab.checkers.linearizable import check_linearizable
    from zablab.checkers.models import get_model

    wops = [o for o in ops if o.is_client and o.f in WRITE_FS | CAS_FS]
    if not wops:
        return "unknown"
    model = "kv" if dec.keyed else "cas-register"
    try:
        res = check_linearizable(wops, get_model(model), 10.0)
    except UserError:  # values the model cannot read: the fallback has no verdict
        return "unknown"
    return False if res.valid is False else "unknown"
