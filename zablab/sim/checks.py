"""What a finished simulation must satisfy (ZAB's properties plus convergence and durability).

These are the simulator's own assertions. When the trace checker
``zablab.checkers.zab.check_zab_trace`` is installed its verdict is added as a second opinion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zablab.node.zab import epoch_of, txn_hash

if TYPE_CHECKING:
    from .cluster import Simulation

NO_CONVERGENCE = "no convergence"  # liveness; everything else found is a safety violation


def check_trace(trace: list[dict[str, Any]]) -> list[str]:
    """Integrity, total order, agreement, primary order/integrity, one leader per epoch."""
    bad: list[str] = []
    leader_of: dict[int, int] = {}
    for ev in trace:
        if ev["event"] == "elected":
            other = leader_of.setdefault(ev["epoch"], ev["node"])
            if other != ev["node"]:
                bad.append(f"two leaders in epoch {ev['epoch']}: {other} and {ev['node']}")
    broadcast: dict[int, str] = {}
    for ev in trace:
        if ev["event"] != "broadcast":
            continue
        z = ev["zxid"]
        if leader_of.get(epoch_of(z)) != ev["node"]:
            bad.append(f"node {ev['node']} broadcast 0x{z:x} without leading epoch {epoch_of(z)}")
        if broadcast.setdefault(z, ev["txn"]) != ev["txn"]:
            bad.append(f"zxid 0x{z:x} broadcast with two different txns")
    at_pos: dict[int, tuple[int, str, int]] = {}
    last: dict[int, int] = {}  # per node: last delivered zxid since its restart
    for ev in trace:
        node = ev["node"]
        if ev["event"] == "restart":
            last.pop(node, None)
            continue
        if ev["event"] == "sync" and ev.get("mode") == "SNAP":
            last.pop(node, None)
            continue
        if ev["event"] != "deliver":
            continue
        z, pos, txn = ev["zxid"], ev["pos"], ev["txn"]
        if broadcast.get(z) != txn:
            bad.append(f"integrity: node {node} delivered 0x{z:x} that no leader broadcast")
        if z <= last.get(node, -1):
            bad.append(f"local order: node {node} delivered 0x{z:x} after 0x{last[node]:x}")
        last[node] = z
        seen = at_pos.setdefault(pos, (z, txn, node))
        if seen[:2] != (z, txn):
            bad.append(
                f"agreement: pos {pos} is 0x{seen[0]:x} on node {seen[2]} "
                f"but 0x{z:x} on node {node}"
            )
    seq = [at_pos[p][0] for p in sorted(at_pos)]
    for a, b in zip(seq, seq[1:], strict=False):
        if b <= a:
            bad.append(f"global primary order: 0x{b:x} follows 0x{a:x} in the delivered order")
            break
    return bad


def check_run(sim: Simulation, final: dict[int, list[tuple[int, bytes]]]) -> list[str]:
    bad = check_trace(sim.trace)
    for n, node in sim.nodes.items():
        bad += [f"node {n} app: {a}" for a in node.app.anomalies]
    converged = sim.converged()
    if not converged:
        roles = {n: node.role for n, node in sim.nodes.items()}
        bad.append(f"{NO_CONVERGENCE} after the heal: roles {roles}")
    states = list(final.values())
    ref_node = next(iter(final))
    ref = final[ref_node]
    for n, st in final.items():
        if converged and st != ref:
            bad.append(
                f"divergent state: node {n} has {len(st)} txns, node {ref_node} {len(ref)}; "
                f"first difference at {_first_diff(st, ref)}"
            )
    held = {p for st in states for _, p in st}
    everywhere = set.intersection(*({p for _, p in st} for st in states)) if states else set()
    for payload in sim.acked:
        if payload not in held:
            bad.append(f"lost write: {payload.decode()} was acknowledged but no replica has it")
        elif converged and payload not in everywhere:
            bad.append(f"lost write: {payload.decode()} was acknowledged but some replica lacks it")
    # Convergence is checked above on the real states; the trace checker cannot see what a
    # SNAP sync installed, so it runs without `quiesced`.
    bad += _external(sim.trace, quiesced=False)
    return bad


def _first_diff(a: list[tuple[int, bytes]], b: list[tuple[int, bytes]]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"pos {i} (0x{x[0]:x} {txn_hash(x[1])} vs 0x{y[0]:x} {txn_hash(y[1])})"
    return f"pos {min(len(a), len(b))} (one is a prefix of the other)"


def _external(trace: list[dict[str, Any]], quiesced: bool) -> list[str]:
    try:
        from zablab.checkers.zab import check_zab_trace
    except ImportError:  # pragma: no cover - the checker ships with zablab
        return []
    result = check_zab_trace(trace, quiesced=quiesced)
    bad = []
    for child in result.children:
        if child.valid is False:
            examples = "; ".join(child.details.get("examples", [])[:3])
            bad.append(f"zab trace checker, {child.checker}: {examples}")
    return bad
