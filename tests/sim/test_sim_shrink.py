"""A failing schedule shrinks to a short one that fails the same property and replays exactly."""

from __future__ import annotations

import pytest

from zablab.bugs import BUGS, Layer, known
from zablab.sim import SimConfig, Simulation
from zablab.sim.shrink import properties, property_of, shrink
from zablab.sim.stepper import replay

MAX_STEPS = 72  # "a few dozen": an election, the bug's write and crash, a second election


def first_failure(cfg: SimConfig, bound: int) -> Simulation:
    for seed in range(bound):
        sim = Simulation(seed, cfg)
        sim.record = True
        if sim.run().safety_violations:
            return sim
    raise AssertionError(f"no seed below {bound} fails with {cfg.bugs}")


# the zoo's entries are found by their scripted schedules, not random seeds (seeds 0): their
# schedules were shrunk when made, and tests/sim/test_bug_zoo.py replays them
@pytest.mark.parametrize("bug", [b for b in known([Layer.ZAB]) if BUGS[b].seeds > 0])
def test_each_seeded_bug_shrinks_to_a_short_exact_replay(bug: str) -> None:
    cfg = SimConfig(bugs=(bug,))
    sim = first_failure(cfg, BUGS[bug].seeds)
    _, whole = replay(cfg, sim.steps, safety_only=True)
    prop = next(p for p in properties(whole.violations))
    done = shrink(cfg, sim.steps, prop, time_limit=120)
    assert done is not None and done.complete
    assert len(done.steps) <= MAX_STEPS < len(sim.steps), len(done.steps)
    _, a = replay(cfg, done.steps, safety_only=True)
    _, b = replay(cfg, done.steps, safety_only=True)
    assert prop in properties(a.violations) and a.trace_hash == b.trace_hash
    # the bug is what fails it: the clean replica on the same schedule keeps the property
    _, clean = replay(SimConfig(), done.steps, safety_only=True)
    assert prop not in properties(clean.violations), clean.violations


def test_shrinking_keeps_the_property_it_was_given() -> None:
    cfg = SimConfig(bugs=("diff-without-trunc",))
    sim = first_failure(cfg, 150)
    assert shrink(cfg, sim.steps, "integrity", time_limit=10) is None  # never violated


def test_property_names() -> None:
    assert property_of("agreement: at position 3 ...") == "agreement"
    assert property_of("node 2 app: txn 0x1 delivered at pos 3 onto 2") == "app"
    assert property_of("lost write: w1@2 was acknowledged but ...") == "lost write"
    assert property_of("no convergence after the heal: roles {}") == "no convergence"
