"""``smallest-id``: the lowest live server id leads, whatever history it holds.

A compute cluster's rule (a scheduler's leader keeps no state that others need). It reuses
Fast Leader Election's rounds, tally and finalize wait; only the order of votes differs, so the
comparison with ``fle`` isolates what ordering by history buys.
"""

from __future__ import annotations

from typing import ClassVar

from ..election import Election, Vote


class SmallestId(Election):
    NAME: ClassVar[str] = "smallest-id"
    ELECTS_NEWEST: ClassVar[bool] = False

    def better(self, a: Vote, b: Vote) -> bool:
        return a.leader < b.leader
