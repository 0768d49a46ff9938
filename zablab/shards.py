"""Splitting a list of seeds into K shards, for CI matrices that spread one night's seeds.

`zablab sim --seeds N --shard I/K` and `zablab test --test-count N --shard I/K` both keep the
seeds `shard` gives shard I: every K-th seed, starting at the I-th (1-based, as a GitHub
Actions matrix counts), so the K shards are disjoint, together hold every seed, and differ
in size by at most one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from zablab.errors import UserError

T = TypeVar("T")


def parse_shard(text: str) -> tuple[int, int]:
    """'I/K' -> (I, K), with 1 <= I <= K."""
    i_s, sep, k_s = text.partition("/")
    try:
        i, k = int(i_s), int(k_s)
    except ValueError:
        i = k = 0
    if not sep or k < 1 or not 1 <= i <= k:
        raise UserError(f"--shard takes I/K with 1 <= I <= K (e.g. 2/4), not {text!r}")
    return i, k


def shard(seeds: Sequence[T], spec: str) -> list[T]:
    """The seeds of shard `spec` ('I/K'). An empty shard is an error: a run of no seed would
    pass without evidence."""
    i, k = parse_shard(spec)
    mine = [s for n, s in enumerate(seeds) if n % k == i - 1]
    if not mine:
        raise UserError(
            f"--shard {spec} of {len(seeds)} seed(s) holds none; use at most {len(seeds)} shards"
        )
    return mine
