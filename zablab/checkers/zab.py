"""ZAB's properties checked on replica traces (format: docs/architecture.md, "ZAB trace").

The properties are those of Junqueira, Reed and Serafini, "Zab: High-performance broadcast for
primary-backup systems" (DSN 2011): integrity, total order, agreement, local primary order,
global primary order and primary integrity, plus one established leader per epoch. Multi-Paxos
satisfies the first three but not the primary-order ones; that difference is what lets ZooKeeper
pipeline state changes safely, and what the labs demonstrate.

A txn is identified by its `txn` field (a short content hash) when the event has one, otherwise
by its zxid; the primary that broadcast it gives its epoch. Only the order of each node's own
events is used, never timestamps across nodes, so clocks need not agree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from zablab.checkers.result import Result, compose
from zablab.checkers.spec import hashable
from zablab.errors import UserError
from zablab.history.textfile import text_lines

PROPERTIES = (
    "integrity",
    "total-order",
    "agreement",
    "local-primary-order",
    "global-primary-order",
    "primary-integrity",
    "one-leader-per-epoch",
)


@dataclass(slots=True, eq=False)
class Broadcast:
    """A txn as its primary proposed it: the `seq`-th broadcast of that primary."""

    node: Hashable
    epoch: int
    zxid: int
    txn: Hashable | None
    seq: int
    at: int  # index in the primary's own event list

    @property
    def ident(self) -> Hashable:
        return ("txn", self.txn) if self.txn is not None else ("zxid", self.zxid)

    def show(self) -> str:
        name = f"{self.txn}" if self.txn is not None else f"{self.zxid:#x}"
        return f"{name} (epoch {self.epoch}, zxid {self.zxid:#x})"


@dataclass(slots=True)
class Delivery:
    node: Hashable
    pos: int
    zxid: int
    txn: Hashable | None
    at: int  # index in the node's event list
    origin: Broadcast | None = None

    @property
    def ident(self) -> Hashable:
        return ("txn", self.txn) if self.txn is not None else ("zxid", self.zxid)

    def show(self) -> str:
        if self.origin is not None:
            return self.origin.show()
        name = f"{self.txn}" if self.txn is not None else f"{self.zxid:#x}"
        return f"{name} (zxid {self.zxid:#x})"


@dataclass
class _Replica:
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)  # in event order
    final: dict[int, Delivery] = field(default_factory=dict)  # pos -> latest delivery there
    snap_upto: list[tuple[int, int]] = field(default_factory=list)  # (event index, pos)
    length: int = 0  # deliveries so far, counting those a snapshot or recovery restored


class _Findings:
    def __init__(self, limit: int):
        self.limit = limit
        self.found: dict[str, list[str]] = {p: [] for p in PROPERTIES}
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, prop: str, text: str) -> None:
        self.counts[prop] += 1
        if len(self.found[prop]) < self.limit:
            self.found[prop].append(text)


def load_zab_trace(*paths: str | Path) -> list[dict[str, Any]]:
    """Events from JSONL files, or from every *.jsonl under a directory (one file per node or
    one merged file). A line that is not a JSON object raises UserError naming file and line."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.rglob("*.jsonl")))
        elif p.exists():
            files.append(p)
        else:
            raise UserError(f"{p}: no such trace file or directory")
    if not files:
        raise UserError(f"{', '.join(map(str, paths))}: no *.jsonl trace files found")
    events: list[dict[str, Any]] = []
    for f in files:
        for lineno, line, _ in text_lines(f):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"{f}:{lineno}: not valid JSON ({exc.msg}); a trace has one event a line"
                ) from None
            if not isinstance(e, dict) or "node" not in e or "event" not in e:
                raise UserError(f"{f}:{lineno}: a trace event needs 'node' and 'event' fields")
            e.setdefault("_where", f"{f}:{lineno}")
            events.append(e)
    return events


def _int(e: dict[str, Any], name: str, i: int) -> int:
    v = e.get(name)
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            pass
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    where = e.get("_where", f"event {i}")
    raise UserError(f"{where}: {e.get('event')} event needs an integer {name!r}, got {v!r}")


def check_zab_trace(
    events: Iterable[dict[str, Any]], *, quiesced: bool = False, limit: int = 20
) -> Result:
    """Check ZAB's properties on a trace; `quiesced` also requires that every replica ends
    with the same delivered sequence (use it for traces that end after heal and a quiet
    period)."""
    replicas: dict[Hashable, _Replica] = defaultdict(_Replica)
    by_primary: dict[tuple[Hashable, int], list[Broadcast]] = defaultdict(list)
    by_ident: dict[Hashable, Broadcast] = {}
    by_zxid: dict[int, Broadcast] = {}
    elected: dict[int, list[Hashable]] = defaultdict(list)
    follows: list[tuple[Hashable, int, Hashable]] = []
    out = _Findings(limit)

    for i, e in enumerate(events):
        node = _node(e)
        rep = replicas[node]
        at = len(rep.events)
        rep.events.append(e)
        kind = e.get("event")
        if kind == "elected":
            elected[_int(e, "epoch", i)].append(node)
        elif kind == "follow":
            follows.append((node, _int(e, "epoch", i), _node_id(e.get("leader"))))
        elif kind == "broadcast":
            z = _int(e, "zxid", i)
            epoch = _int(e, "epoch", i) if "epoch" in e else z >> 32
            txn = hashable(e.get("txn"))
            prim = by_primary[(node, epoch)]
            b = Broadcast(node, epoch, z, txn, len(prim), at)
            prim.append(b)
            by_ident.setdefault(b.ident, b)  # a re-proposal keeps its first primary
            by_zxid.setdefault(z, b)
        elif kind == "deliver":
            z = _int(e, "zxid", i)
            if "pos" in e:
                pos = _int(e, "pos", i)
            else:
                pos = max(rep.final, default=-1) + 1
            d = Delivery(node, pos, z, hashable(e.get("txn")), at)
            rep.deliveries.append(d)
            prev = rep.final.get(pos)
            if prev is not None and prev.ident != d.ident:
                out.add(
                    "total-order",
                    f"node {node} delivered {d.show()} at position {pos}, where it had "
                    f"delivered {prev.show()}",
                )
            rep.final[pos] = d
            rep.length = pos + 1
        elif kind in ("sync", "restart") and "pos" in e:
            # positions below were restored (snapshot, or the replica's own log on restart)
            rep.snap_upto.append((at, _int(e, "pos", i)))
            rep.length = _int(e, "pos", i)

    for rep in replicas.values():
        for d in rep.deliveries:
            d.origin = by_ident.get(("txn", d.txn)) if d.txn is not None else by_zxid.get(d.zxid)

    _integrity(replicas, out)
    _total_order(replicas, out)
    _agreement(replicas, quiesced, out)
    _local_primary_order(replicas, out)
    _global_primary_order(replicas, out)
    _primary_integrity(replicas, by_primary, out)
    _one_leader(elected, follows, by_primary, out)

    children = []
    for prop in PROPERTIES:
        bad = out.counts.get(prop, 0)
        children.append(
            Result(prop, bad == 0, {"violations": bad, "examples": out.found[prop]} if bad else {})
        )
    res = compose("zab", children)
    res.details = {
        "nodes": len(replicas),
        "broadcasts": sum(len(v) for v in by_primary.values()),
        "deliveries": sum(len(r.deliveries) for r in replicas.values()),
        "violated": [c.checker for c in children if c.valid is False],
    }
    if res.valid is True and not res.details["broadcasts"] and not res.details["deliveries"]:
        res.valid = "unknown"
        res.details["reason"] = (
            "the trace holds no broadcast or deliver event, so there is nothing to check"
        )
    return res


def _node(e: dict[str, Any]) -> Hashable:
    if "node" not in e:
        raise UserError(f"{e.get('_where', 'trace')}: a trace event needs a 'node' field")
    return _node_id(e["node"])


def _node_id(v: Any) -> Hashable:
    return str(v) if v is not None else None


def _sequence(rep: _Replica) -> list[Delivery]:
    return [rep.final[p] for p in sorted(rep.final)]


def _integrity(replicas: dict[Hashable, _Replica], out: _Findings) -> None:
    """Only broadcast txns are delivered (by content when the trace carries `txn`)."""
    for node, rep in replicas.items():
        for d in rep.deliveries:
            if d.origin is None:
                out.add(
                    "integrity", f"node {node} delivered {d.show()}, which no primary broadcast"
                )


def _total_order(replicas: dict[Hashable, _Replica], out: _Findings) -> None:
    """Each replica delivers in zxid order, each txn once, and the replicas' delivery orders
    fit one total order: the union of their orders (a graph with an edge from each txn to the
    next one a replica delivered) has no cycle. A cycle is named by a pair two replicas ordered
    both ways, or, where no single pair does, by the cycle itself."""
    graph: nx.DiGraph[Hashable] = nx.DiGraph()
    orders: dict[Hashable, dict[Hashable, int]] = {}
    for node, rep in replicas.items():
        seq = _sequence(rep)
        rank: dict[Hashable, int] = {}
        for a, b in zip(seq, seq[1:], strict=False):
            if b.zxid <= a.zxid:
                out.add(
                    "total-order",
                    f"node {node} delivered zxid {b.zxid:#x} after zxid {a.zxid:#x}",
                )
        for i, d in enumerate(seq):
            if d.ident in rank:
                out.add("total-order", f"node {node} delivered {d.show()} twice")
            rank.setdefault(d.ident, i)
        orders[node] = rank
        firsts = sorted(rank, key=rank.__getitem__)
        for ka, kb in zip(firsts, firsts[1:], strict=False):
            if graph.has_edge(ka, kb):
                graph[ka][kb]["by"].append(node)
            else:
                graph.add_edge(ka, kb, by=[node])
    for component in sorted(
        (c for c in nx.strongly_connected_components(graph) if len(c) > 1),
        key=lambda c: sorted(map(str, c)),
    ):
        out.add("total-order", _conflict(graph.subgraph(component), orders))


def _conflict(cycle_part: nx.DiGraph[Hashable], orders: dict[Hashable, dict[Hashable, int]]) -> str:
    cycle = nx.find_cycle(cycle_part)
    nodes = sorted(orders, key=str)
    for ka, kb in cycle:
        for ni in cycle_part[ka][kb]["by"]:
            for nj in nodes:
                rj = orders[nj]
                if ka in rj and kb in rj and rj[kb] < rj[ka]:
                    return (
                        f"node {ni} delivered {_ident(ka)} before {_ident(kb)}, "
                        f"node {nj} the reverse"
                    )
    steps = " -> ".join(f"{_ident(ka)} (node {cycle_part[ka][kb]['by'][0]})" for ka, kb in cycle)
    return f"the replicas' delivery orders form a cycle: {steps} -> {_ident(cycle[0][0])}"


def _ident(k: Any) -> str:
    kind, value = k
    return str(value) if kind == "txn" else f"zxid {value:#x}"


def _agreement(replicas: dict[Hashable, _Replica], quiesced: bool, out: _Findings) -> None:
    """Delivered sequences are prefixes of one another: at every position two replicas both
    delivered, they delivered the same txn (positions covered by a snapshot are not compared)."""
    nodes = sorted(replicas, key=str)
    for x, i in enumerate(nodes):
        for j in nodes[x + 1 :]:
            fi, fj = replicas[i].final, replicas[j].final
            for pos in sorted(set(fi) & set(fj)):
                if fi[pos].ident != fj[pos].ident:
                    out.add(
                        "agreement",
                        f"at position {pos} node {i} delivered {fi[pos].show()}, "
                        f"node {j} {fj[pos].show()}",
                    )
                    break
    if quiesced and nodes:
        lengths = {n: replicas[n].length for n in nodes}
        if len(set(lengths.values())) > 1:
            out.add("agreement", f"replicas ended with different numbers of deliveries: {lengths}")


def _local_primary_order(replicas: dict[Hashable, _Replica], out: _Findings) -> None:
    """A replica delivers a primary's txns in the order it broadcast them, with none left out
    before one it delivers. After a snapshot, the snapshot is taken to hold the missing prefix."""
    for node, rep in replicas.items():
        count: dict[tuple[Hashable, int], int] = {}
        prev_pos, unknown = -1, False
        for d in _sequence(rep):
            if d.pos != prev_pos + 1:
                unknown = True  # positions covered by a snapshot or not in the trace
                count = {p: -1 for p in count}
            prev_pos = d.pos
            o = d.origin
            if o is None:
                continue
            prim = (o.node, o.epoch)
            have = count.get(prim, -1 if unknown else 0)
            if have >= 0 and o.seq > have:
                out.add(
                    "local-primary-order",
                    f"node {node} delivered {o.show()} without the earlier broadcast #{have} of "
                    f"the same primary (node {o.node}, epoch {o.epoch})",
                )
            elif have >= 0 and o.seq < have:
                out.add(
                    "local-primary-order",
                    f"node {node} delivered {o.show()} after a later broadcast of its primary",
                )
            count[prim] = max(have, o.seq + 1)


def _global_primary_order(replicas: dict[Hashable, _Replica], out: _Findings) -> None:
    """Txns of an earlier primary come before those of a later one in every replica."""
    for node, rep in replicas.items():
        last: Broadcast | None = None
        for d in _sequence(rep):
            o = d.origin
            if o is None:
                continue
            if last is not None and o.epoch < last.epoch:
                out.add(
                    "global-primary-order",
                    f"node {node} delivered {o.show()} after {last.show()} of a later epoch",
                )
            if last is None or o.epoch >= last.epoch:
                last = o


def _primary_integrity(
    replicas: dict[Hashable, _Replica],
    by_primary: dict[tuple[Hashable, int], list[Broadcast]],
    out: _Findings,
) -> None:
    """A primary delivers every txn of earlier epochs that anyone delivers before it broadcasts
    its own first txn."""
    delivered: dict[Hashable, tuple[Broadcast, int]] = {}
    first_at: dict[Hashable, dict[Hashable, int]] = {}  # node -> txn -> first delivery event
    for node, rep in replicas.items():
        mine = first_at.setdefault(node, {})
        for d in rep.deliveries:
            if d.origin is not None:
                delivered.setdefault(d.origin.ident, (d.origin, d.pos))
                mine.setdefault(d.origin.ident, d.at)
    by_epoch = sorted(delivered.items(), key=lambda kv: kv[1][0].epoch)
    for (node, epoch), bs in sorted(by_primary.items(), key=lambda kv: kv[0][1]):
        first = bs[0]
        rep = replicas[node]
        mine = first_at.get(node, {})
        snap = max((p for at, p in rep.snap_upto if at < first.at), default=0)
        for ident, (o, pos) in by_epoch:
            if o.epoch >= epoch:
                break
            if mine.get(ident, first.at) >= first.at and pos >= snap:
                out.add(
                    "primary-integrity",
                    f"node {node} broadcast {first.show()} as primary of epoch {epoch} before "
                    f"delivering {o.show()}, which was delivered",
                )


def _one_leader(
    elected: dict[int, list[Hashable]],
    follows: list[tuple[Hashable, int, Hashable]],
    by_primary: dict[tuple[Hashable, int], list[Broadcast]],
    out: _Findings,
) -> None:
    """At most one node is established per epoch, and only it broadcasts in that epoch."""
    for epoch, nodes in sorted(elected.items()):
        if len(set(nodes)) > 1:
            out.add(
                "one-leader-per-epoch", f"epoch {epoch} has leaders {sorted(set(nodes), key=str)}"
            )
    senders: dict[int, set[Hashable]] = defaultdict(set)
    for node, epoch in by_primary:
        senders[epoch].add(node)
        if node not in elected.get(epoch, []):
            out.add(
                "one-leader-per-epoch",
                f"node {node} broadcast in epoch {epoch} without being established as its leader",
            )
    for epoch, sending in senders.items():
        if len(sending) > 1:
            out.add(
                "one-leader-per-epoch",
                f"nodes {sorted(sending, key=str)} all broadcast in epoch {epoch}",
            )
    for node, epoch, leader in follows:
        leaders = set(elected.get(epoch, []))
        if leaders and leader not in leaders:
            out.add(
                "one-leader-per-epoch",
                f"node {node} followed node {leader} in epoch {epoch}, whose leader is "
                f"{sorted(leaders, key=str)}",
            )
