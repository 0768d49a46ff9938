"""Checker results and how they compose: false beats unknown beats true (as Jepsen)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Validity = bool | Literal["unknown"]

EXIT_CODES: dict[Any, int] = {True: 0, False: 1, "unknown": 2}


@dataclass
class Result:
    """One checker's verdict; `details` is JSON-serialisable evidence for the report, and
    `summary` the verdict in one sentence for a reader who has not seen the checker's code
    (filled in by `zablab.checkers.summary.annotate`, which also needs the history)."""

    checker: str
    valid: Validity
    details: dict[str, Any] = field(default_factory=dict)
    children: list[Result] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"checker": self.checker, "valid": self.valid, **self.details}
        if self.summary:
            d["summary"] = self.summary
        if self.children:
            d["children"] = [c.to_dict() for c in self.children]
        return d

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.valid]


def merge_validity(values: Iterable[Validity]) -> Validity:
    seen_unknown = False
    for v in values:
        if v is False:
            return False
        if v == "unknown":
            seen_unknown = True
    return "unknown" if seen_unknown else True


def compose(checker: str, results: Iterable[Result]) -> Result:
    """Combine several results into one whose validity is the worst of them."""
    rs = list(results)
    if not rs:
        return Result(checker, "unknown", {"reason": "no checker ran"})
    return Result(checker, merge_validity(r.valid for r in rs), {}, rs)
