"""What a finished simulation must satisfy: ZAB's properties, convergence and durability.

ZAB's properties are checked on the trace by the ZAB trace checker (zablab/checkers/zab.py),
the same one ``zablab check --checker zab`` runs on a real ensemble's traces. What only the
simulator can see is checked here: the replicas' final states (convergence, divergence), the
writes a client saw acknowledged (none lost), and what each application noticed as delivered
out of place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zablab.checkers.zab import check_zab_trace
from zablab.node.replica import txn_hash

NO_CONVERGENCE = "no convergence"  # liveness; everything else found is a safety violation


@dataclass(frozen=True)
class RunOutcome:
    trace: list[dict[str, Any]]
    anomalies: dict[int, list[str]]  # per node: deliveries its application found out of place
    converged: bool  # one leader, every replica serving and caught up with it
    roles: dict[int, tuple[str, int, int | None]]
    final: dict[int, list[tuple[int, bytes]]]  # per node: (zxid, payload) delivered
    acked: list[bytes]  # payloads a client saw committed


def check_run(run: RunOutcome) -> list[str]:
    bad = check_trace(run.trace)
    for n, anomalies in run.anomalies.items():
        bad += [f"node {n} app: {a}" for a in anomalies]
    converged = run.converged
    if not converged:
        bad.append(f"{NO_CONVERGENCE} after the heal: roles {run.roles}")
    final = run.final
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
    for payload in run.acked:
        if payload not in held:
            bad.append(f"lost write: {payload.decode()} was acknowledged but no replica has it")
        elif converged and payload not in everywhere:
            bad.append(f"lost write: {payload.decode()} was acknowledged but some replica lacks it")
    return bad


def check_trace(trace: list[dict[str, Any]]) -> list[str]:
    """ZAB's properties by the trace checker, one line per violated property. Convergence is
    checked on the real states (check_run); the trace checker cannot see what a SNAP sync
    installed, so it runs without ``quiesced``."""
    result = check_zab_trace(trace, quiesced=False)
    bad = []
    for child in result.children:
        if child.valid is False:
            examples = "; ".join(child.details.get("examples", [])[:3])
            bad.append(f"{child.checker}: {examples}")
    return bad


def _first_diff(a: list[tuple[int, bytes]], b: list[tuple[int, bytes]]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"pos {i} (0x{x[0]:x} {txn_hash(x[1])} vs 0x{y[0]:x} {txn_hash(y[1])})"
    return f"pos {min(len(a), len(b))} (one is a prefix of the other)"
