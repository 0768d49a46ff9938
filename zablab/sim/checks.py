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

NO_CONVERGENCE = "no convergence"  # after a full heal
LIVENESS = "liveness"  # under a lasting fault (a minority down for good)
LASTING_WRITES = 3  # writes the live majority must commit under a lasting fault


def is_liveness(violation: str) -> bool:
    """Whether a violation is a failure to make progress rather than a safety violation."""
    return violation.startswith((NO_CONVERGENCE, LIVENESS))


@dataclass(frozen=True)
class Lasting:
    """A run that ends with a minority down for good: what its live majority achieved."""

    mode: str  # crash-minority | partition-minority
    bound_ms: int  # how long the live majority had
    live: list[int]
    down: list[int]
    leader: int | None  # the one established leader among the live nodes, if any
    epoch: int  # its epoch (0 without one)
    # (payload, node, epoch the node served in) of each write a live node accepted after the
    # fault began; those of the leader's epoch must be on every live node
    writes: list[tuple[bytes, int, int]]


@dataclass(frozen=True)
class RunOutcome:
    trace: list[dict[str, Any]]
    anomalies: dict[int, list[str]]  # per node: deliveries its application found out of place
    converged: bool  # one leader, every replica serving and caught up with it
    roles: dict[int, tuple[str, int, int | None]]
    final: dict[int, list[tuple[int, bytes]]]  # per node: (zxid, payload) delivered
    acked: list[bytes]  # payloads a client saw committed
    lasting: Lasting | None = None  # the run ended with a minority down for good
    # what the client syncs found (stale answers, unanswered syncs), when the run had syncs
    syncs: tuple[str, ...] = ()
    # per node up at the end: the leader its monitor() reports (mntr's view of the role)
    monitors: tuple[tuple[int, int], ...] = ()


def check_run(run: RunOutcome) -> list[str]:
    bad = check_trace(run.trace)
    for n, anomalies in run.anomalies.items():
        bad += [f"node {n} app: {a}" for a in anomalies]
    bad += list(run.syncs)
    bad += check_monitors(run.roles, dict(run.monitors))
    converged = run.converged
    final = run.final
    held = {p for st in final.values() for _, p in st}
    if run.lasting is not None:
        # the nodes down for good keep what they had: the live majority must agree and hold
        # every acknowledged write, once converged (until then a restarted replica's
        # application is empty, its history on disk only)
        bad += check_lasting(run.lasting, run.roles, final)
        if not converged:
            return bad
        final = {n: final[n] for n in run.lasting.live} or final
    elif not converged:
        bad.append(f"{NO_CONVERGENCE} after the heal: roles {run.roles}")
    states = list(final.values())
    ref_node = next(iter(final))
    ref = final[ref_node]
    for n, st in final.items():
        if converged and st != ref:
            bad.append(
                f"divergent state: node {n} has {len(st)} txns, node {ref_node} {len(ref)}; "
                f"first difference at {_first_diff(st, ref)}"
            )
    everywhere = set.intersection(*({p for _, p in st} for st in states)) if states else set()
    for payload in run.acked:
        if payload not in held:
            bad.append(f"lost write: {payload.decode()} was acknowledged but no replica has it")
        elif converged and payload not in everywhere:
            bad.append(f"lost write: {payload.decode()} was acknowledged but some replica lacks it")
    return bad


def check_monitors(
    roles: dict[int, tuple[str, int, int | None]], monitors: dict[int, int]
) -> list[str]:
    """What a replica's monitor() reports (the mntr leader field, what operators and the
    ensemble's gauges see) must agree with the role it last announced: the leader while
    LEADING or FOLLOWING, -1 otherwise."""
    bad = []
    for n, reported in sorted(monitors.items()):
        role, _epoch, leader = roles.get(n, ("LOOKING", 0, None))
        want = leader if role in ("LEADING", "FOLLOWING") and leader is not None else -1
        if reported != want:
            bad.append(f"monitor: node {n} reports leader {reported} while {role} (want {want})")
    return bad


def check_lasting(
    run: Lasting,
    roles: dict[int, tuple[str, int, int | None]],
    final: dict[int, list[tuple[int, bytes]]],
) -> list[str]:
    """Liveness with a minority down for good: within the bound the live majority establishes
    a leader and commits every write it accepted in that leader's epoch, at least
    LASTING_WRITES of them (writes accepted under an earlier leader may fail, as a client's
    request does when its server loses the leader)."""
    how = "crashed" if run.mode == "crash-minority" else "partitioned away"
    within = f"within {run.bound_ms} ms with nodes {run.down} {how} for good"
    if run.leader is None:
        live_roles = {n: roles.get(n) for n in run.live}
        return [f"{LIVENESS}: no leader established {within}: live roles {live_roles}"]
    mine = [(p, n) for p, n, e in run.writes if e == run.epoch and n in run.live]
    held = [{q for _, q in final[m]} for m in run.live]
    missing = sorted({p.decode() for p, _ in mine if any(p not in h for h in held)})
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        return [
            f"{LIVENESS}: writes not committed {within}: {len(missing)} of {len(mine)} "
            f"accepted in epoch {run.epoch} of leader {run.leader} are not on every live node "
            f"({shown})"
        ]
    if len(mine) < LASTING_WRITES:
        return [
            f"{LIVENESS}: writes not committed {within}: only {len(mine)} accepted in epoch "
            f"{run.epoch} of leader {run.leader}, {LASTING_WRITES} needed"
        ]
    return []


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
