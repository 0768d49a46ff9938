"""When ops happen: concurrency, a shared rate limit with jitter, a time limit, phases.

Workers pull from a Schedule; the Schedule decides whether another op may start and when. The
final healed read phase is run by the runner after the main phase, on fresh sessions.
"""

from __future__ import annotations

import random
import threading
import time

from zablab.errors import UserError


def parse_concurrency(spec: str | int, nodes: int) -> int:
    """`10` or `2n` (per node, as Jepsen writes it)."""
    s = str(spec).strip().lower()
    try:
        n = int(s[:-1]) * nodes if s.endswith("n") else int(s)
    except ValueError:
        raise UserError(
            f"--concurrency must be a number or Nn (e.g. 10 or 2n), not {spec!r}."
        ) from None
    if n < 1:
        raise UserError(f"--concurrency must be at least 1, not {spec!r}.")
    return n


class Schedule:
    """Shared by all workers: a global token bucket of `rate` ops/s (0 = unlimited), each slot
    jittered by up to `stagger` of the interval so workers do not move in lock step."""

    def __init__(
        self,
        time_limit: float,
        rate: float = 0.0,
        stagger: float = 0.5,
        seed: int = 0,
        deadline: float | None = None,
    ):
        # `deadline` (time.monotonic(), one clock for all processes) lets worker processes
        # end together with the harness
        self.deadline = deadline if deadline is not None else time.monotonic() + time_limit
        self.rate = rate
        self.stagger = stagger
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.stop = threading.Event()

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def wait_turn(self) -> bool:
        """Block until this worker may invoke its next op; False when the phase is over."""
        if self.rate <= 0:
            return self.running()
        with self._lock:
            interval = 1.0 / self.rate
            now = time.monotonic()
            self._next = max(self._next + interval, now - interval)
            slot = self._next + self._rng.uniform(0, self.stagger * interval)
        delay = slot - time.monotonic()
        if delay > 0:
            self.stop.wait(min(delay, max(0.0, self.deadline - time.monotonic())))
        return self.running()

    def sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)
