"""The simulators' cheap integer draws must be randint's, draw for draw: a seed names a run."""

from __future__ import annotations

import random

import pytest

from zablab.sim.draw import randint, uniform_ints


@pytest.mark.parametrize("a,b", [(1, 1), (1, 8), (0, 40), (1, 12), (50, 1500), (0, 400), (10, 100)])
def test_the_same_values_and_state_as_randint(a: int, b: int) -> None:
    for seed in range(5):
        ours, theirs = random.Random(seed), random.Random(seed)
        fixed, fixed_ref = random.Random(seed), random.Random(seed)
        draw = uniform_ints(fixed, a, b)
        for _ in range(300):
            assert randint(ours, a, b) == theirs.randint(a, b)
            assert draw() == fixed_ref.randint(a, b)
        # interleaved with other draws, the generators stay in step
        assert ours.random() == theirs.random() and fixed.random() == fixed_ref.random()


def test_an_empty_range_is_refused_like_randint() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError):
        randint(rng, 3, 2)
    with pytest.raises(ValueError):
        uniform_ints(rng, 3, 2)
    with pytest.raises(ValueError):
        rng.randint(3, 2)
