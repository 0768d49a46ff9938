"""Many seeded runs with partitions, crashes (single and a whole quorum, losing
unsynced writes), pauses and message delays on 3 and 5 replicas; every check must hold.

A failure message carries the command that replays the seed. bench/zab_seeds.py runs more.
"""

import pytest

from zablab.sim import SimConfig, simulate

# (nodes, first seed, count): 800 seeds on 3 replicas and 500 on 5, in chunks.
CHUNKS = [(3, 0, 400), (3, 400, 400), (5, 0, 250), (5, 250, 250)]


@pytest.mark.parametrize("nodes,first,count", CHUNKS)
def test_seeds_hold_every_property(nodes, first, count):
    failures = []
    for seed in range(first, first + count):
        r = simulate(seed, SimConfig(nodes=nodes))
        if not r.ok:
            failures.append(r.summary())
    assert not failures, "\n".join(failures)


def test_the_seeds_exercise_every_sync_mode_and_fault():
    """The seeds are only worth something if they reach the interesting paths."""
    seen: set[str] = set()
    faults = {
        "crash": 0,
        "(silent)": 0,
        "(reset)": 0,
        "pause": 0,
        "slow": 0,
        "clock": 0,
        "snapshot restart": 0,
    }
    for seed in range(60):
        r = simulate(seed, SimConfig(nodes=3))
        seen |= {e["mode"] for e in r.trace if e["event"] == "sync"}
        for _, what in r.log:
            for k in faults:
                faults[k] += k in what
        faults["snapshot restart"] += sum(
            1 for e in r.trace if e["event"] == "restart" and e["pos"] > 0
        )
    assert seen == {"DIFF", "TRUNC", "SNAP"}
    assert all(v >= 10 for v in faults.values()), faults
