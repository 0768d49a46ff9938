"""Election schemes of the ZAB replica, by name: ReplicaConfig.election chooses one.

``fle`` (Fast Leader Election, ../election.py) elects the server with the newest history of
a quorum, which a storage cluster needs: the leader's log becomes everyone's log. The two
others are what a compute cluster may use, where the leader holds no state of its own:
``smallest-id`` (the lowest live id leads, history ignored) and ``first-claim`` (whoever
announces first leads). Run under ZAB they lose acknowledged writes, which is the lesson
(``zablab sim --election smallest-id``).

Every scheme is sans-IO with Election's interface (see ``ElectionScheme``); the replica builds
one with ``make_election`` each time it goes looking. ``plugged`` adds a scheme for the span of
a ``with`` block (the ``fle`` lab plugs a student's class in this way).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar, Protocol

from zablab.errors import UserError

from ..election import Election, Vote
from ..messages import Notification
from .first_claim import FirstClaim
from .smallest_id import SmallestId

Sends = list[tuple[int, Notification]]


class ElectionScheme(Protocol):
    """What the replica asks of an election (the one it built when it went looking)."""

    ELECTS_NEWEST: ClassVar[bool]
    round: int
    vote: Vote

    def start(self, now: int) -> Sends: ...

    def on_notification(self, now: int, frm: int, n: Notification) -> tuple[Sends, Vote | None]: ...

    def on_timer(self, now: int) -> tuple[Sends, Vote | None]: ...

    def next_deadline(self) -> int: ...


class SchemeFactory(Protocol):
    """An election class: built with these arguments each time the replica goes looking."""

    @property
    def ELECTS_NEWEST(self) -> bool: ...  # noqa: N802

    def __call__(
        self,
        my_id: int,
        members: list[int],
        round_: int,
        self_vote: Vote,
        *,
        finalize_wait_ms: int,
        max_notify_interval_ms: int,
        ignore_zxid: bool = ...,
    ) -> ElectionScheme: ...


BUILTIN: dict[str, SchemeFactory] = {
    "fle": Election,
    "smallest-id": SmallestId,
    "first-claim": FirstClaim,
}
_SCHEMES: dict[str, SchemeFactory] = dict(BUILTIN)


def names() -> list[str]:
    return list(_SCHEMES)


def parse_election(name: str) -> str:
    """An election name checked against the known schemes (one UserError line otherwise)."""
    if name not in _SCHEMES:
        raise UserError(f"unknown election {name!r}; known elections: {', '.join(_SCHEMES)}.")
    return name


def scheme(name: str) -> SchemeFactory:
    return _SCHEMES[parse_election(name)]


def make_election(
    name: str,
    my_id: int,
    members: Sequence[int],
    round_: int,
    self_vote: Vote,
    *,
    finalize_wait_ms: int,
    max_notify_interval_ms: int,
    ignore_zxid: bool = False,
) -> ElectionScheme:
    return scheme(name)(
        my_id,
        list(members),
        round_,
        self_vote,
        finalize_wait_ms=finalize_wait_ms,
        max_notify_interval_ms=max_notify_interval_ms,
        ignore_zxid=ignore_zxid,
    )


@contextmanager
def plugged(name: str, factory: SchemeFactory) -> Iterator[str]:
    """Make ``factory`` the election called ``name`` inside the block (not a built-in name)."""
    if name in BUILTIN:
        raise ValueError(f"{name!r} is a built-in election")
    _SCHEMES[name] = factory
    try:
        yield name
    finally:
        _SCHEMES.pop(name, None)


__all__ = [
    "BUILTIN",
    "ElectionScheme",
    "SchemeFactory",
    "make_election",
    "names",
    "parse_election",
    "plugged",
    "scheme",
]
