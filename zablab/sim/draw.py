"""Integer draws that equal ``random.Random.randint`` draw for draw, at a fraction of its cost.

The simulators draw a delay for every message, log sync and client hop; ``randint`` goes
through ``randrange``'s argument checks each time, which made it a visible share of a run.
``randint(a, b)`` of CPython is ``a + _randbelow(b - a + 1)``, and ``_randbelow`` (for a
generator whose ``random`` and ``getrandbits`` are the C ones, as ``random.Random``'s are)
draws ``getrandbits(n.bit_length())`` until the value is below ``n``. Doing the same here
consumes the generator exactly as ``randint`` would, so a seed still names the same run
(tests/sim/test_draw.py compares the two streams).
"""

from __future__ import annotations

import random
from collections.abc import Callable


def randint(rng: random.Random, a: int, b: int) -> int:
    """``rng.randint(a, b)``, the same value and the same generator state afterwards."""
    n = b - a + 1
    if n <= 0:
        raise ValueError(f"empty range for randint({a}, {b})")
    k = n.bit_length()
    bits = rng.getrandbits
    r = bits(k)
    while r >= n:
        r = bits(k)
    return a + r


def uniform_ints(rng: random.Random, a: int, b: int) -> Callable[[], int]:
    """A function drawing ``rng.randint(a, b)`` (a fixed range: its width is worked out once)."""
    n = b - a + 1
    if n <= 0:
        raise ValueError(f"empty range for randint({a}, {b})")
    k = n.bit_length()
    bits = rng.getrandbits

    def draw() -> int:
        r = bits(k)
        while r >= n:
            r = bits(k)
        return a + r

    return draw
