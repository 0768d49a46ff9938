"""The ZAB checker on traces of the deterministic simulator: clean runs pass, seeded bugs are
caught. Skips while the simulator is not there."""

from __future__ import annotations

import pytest

from zablab.checkers.zab import check_zab_trace

cluster = pytest.importorskip("zablab.sim.cluster")


def test_clean_simulations_pass() -> None:
    for seed in range(15):
        r = cluster.simulate(seed, cluster.SimConfig())
        assert check_zab_trace(r.trace, quiesced=True).valid is True, (seed, r.summary())


def test_seeded_bug_is_caught() -> None:
    cfg = cluster.SimConfig(bugs=("diff-without-trunc",))
    caught = [
        s for s in range(60) if check_zab_trace(cluster.simulate(s, cfg).trace).valid is False
    ]
    assert caught, "no seed of diff-without-trunc broke a ZAB property"


def _deliveries(trace: list[dict], node: object) -> list[dict]:
    return [e for e in trace if e["event"] == "deliver" and e["node"] == node]


def test_mutated_simulation_traces_fail() -> None:
    """Swapping two deliveries, or dropping one, on a single replica is always caught."""
    tried = 0
    for seed in range(15):
        trace = cluster.simulate(seed, cluster.SimConfig()).trace
        node = trace[0]["node"]
        ds = _deliveries(trace, node)
        if len(ds) < 3:
            continue
        tried += 1
        swapped = [dict(e) for e in trace]
        a, b = _deliveries(swapped, node)[1:3]
        for k in ("zxid", "txn"):
            a[k], b[k] = b[k], a[k]
        assert check_zab_trace(swapped).valid is False, seed
        dropped = [dict(e) for e in trace if e is not ds[1]]
        for e in _deliveries(dropped, node)[1:]:
            e["pos"] -= 1
        assert check_zab_trace(dropped).valid is False, seed
    assert tried > 5
