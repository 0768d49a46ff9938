"""Errors of a run counted by kind, so a failure that repeats a million times is one line.

Warnings and errors from any logger (asyncio's accept loop, kazoo, the harness) and exceptions
that escape a thread are counted by (source, exception type, message); the first of each kind
goes to the run's zablab.log with its traceback, and the terminal gets one line per kind with
its count at the end of the run. Without this, a resource exhausted mid-run (EMFILE in the
fault proxy) prints a traceback per failed accept.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import Counter
from types import TracebackType
from typing import Any

_NUMBERS = re.compile(r"0x[0-9a-f]+|\d+")


def _kind(source: str, exc: BaseException | None, msg: str) -> tuple[str, str]:
    """Messages that differ only in numbers (ports, session ids, pids) are one kind."""
    if exc is not None:
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = msg
    text = text.splitlines()[0] if text else ""
    return source, _NUMBERS.sub("N", text)[:200]


class ErrorTally(logging.Handler):
    """Install with `with ErrorTally(log_file_handler) as tally:`; read `tally.summary()`."""

    def __init__(self, first_sink: logging.Handler | None = None, own_in_sink: bool = True):
        """`own_in_sink`: zablab's loggers write to `first_sink` themselves (the run's log)."""
        super().__init__(logging.WARNING)
        self.first_sink = first_sink
        self.own_in_sink = own_in_sink
        self.counts: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], str] = {}
        self._mu = threading.Lock()
        self._old_hook: Any = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc = record.exc_info[1] if record.exc_info else None
            msg = record.getMessage()
            if self._count(_kind(record.name, exc, msg), msg) and self.first_sink is not None:
                if not (self.own_in_sink and record.name.startswith("zablab")):
                    self.first_sink.handle(record)
        except Exception:
            self.handleError(record)

    def _count(self, key: tuple[str, str], example: str) -> bool:
        """Count one; True when it is the first of its kind."""
        with self._mu:
            self.counts[key] += 1
            if key in self.examples:
                return False
            self.examples[key] = example.splitlines()[0] if example else key[1]
            return True

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "thread"
        source = f"thread {_NUMBERS.sub('N', name)}"
        exc = args.exc_value
        if self._count(_kind(source, exc, ""), str(exc)) and self.first_sink is not None:
            tb: TracebackType | None = args.exc_traceback
            text = "".join(traceback.format_exception(args.exc_type, exc, tb))
            self.first_sink.handle(
                logging.LogRecord(source, logging.ERROR, "", 0, text, None, None)
            )

    def __enter__(self) -> ErrorTally:
        logging.getLogger().addHandler(self)
        self._old_hook = threading.excepthook
        threading.excepthook = self._thread_hook
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)
        threading.excepthook = self._old_hook

    def summary(self, min_level_count: int = 1) -> list[str]:
        """One line per kind, most frequent first: `12,345 x OSError: ... (asyncio)`."""
        with self._mu:
            items = self.counts.most_common()
        return [f"{n:,} x {text} ({source})" for (source, text), n in items if n >= min_level_count]
