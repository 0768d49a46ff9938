"""Build small histories from op intervals: for tests, docs and lab handouts.

Writing invoke/completion pairs by hand is error-prone; here each op is one call with its start
and end time, and the builder emits the interleaved Jepsen-style events.
"""

from __future__ import annotations

from typing import Any

from zablab.history.jsonl import Op


class HistoryBuilder:
    """`b.op(process, f, value, start, end, ...)` then `b.ops()` gives the events in time order."""

    def __init__(self) -> None:
        self._events: list[tuple[int, int, Op]] = []
        self._seq = 0

    def op(
        self,
        process: Any,
        f: str,
        value: Any,
        start: int,
        end: int | None,
        type: str = "ok",
        out: Any = None,
        **extra: Any,
    ) -> HistoryBuilder:
        """One op invoked at `start` and completed at `end` (None: never completed).

        `out` is the completion's value when it differs from the invoke's (reads); `extra`
        fields go on the completion (zxid, session, final, error, ...). A `session` is put on
        both halves.
        """
        inv_extra = {"session": extra["session"]} if "session" in extra else {}
        self._add(start, Op(-1, start, "invoke", process, f, value, inv_extra))
        if end is not None:
            done = Op(-1, end, type, process, f, value if out is None else out, dict(extra))
            self._add(end, done)
        return self

    def nemesis(self, f: str, start: int, end: int, value: Any = None) -> HistoryBuilder:
        self._add(start, Op(-1, start, "invoke", "nemesis", f, value))
        self._add(end, Op(-1, end, "info", "nemesis", f, value))
        return self

    def _add(self, t: int, op: Op) -> None:
        self._events.append((t, self._seq, op))
        self._seq += 1

    def ops(self) -> list[Op]:
        out = [op for _, _, op in sorted(self._events, key=lambda e: (e[0], e[1]))]
        for i, op in enumerate(out):
            op.index = i
        return out
