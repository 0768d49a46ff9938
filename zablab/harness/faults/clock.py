"""Clock faults with libfaketime: each DB process reads its wall-clock offset from a file.

Only the wall clock (CLOCK_REALTIME) is skewed — FAKETIME_DONT_FAKE_MONOTONIC=1 — which is what a
real clock bump does (settimeofday leaves CLOCK_MONOTONIC alone). The offset file is re-read at
most once a second (FAKETIME_CACHE_DURATION), so a running process follows bumps and strobes.
Caveat: libfaketime 0.9.10 makes absolute clock_nanosleep fail with EINVAL in this mode, which
breaks Python's time.sleep; the zablab node therefore never calls time.sleep (asyncio only), and
the JVM is unaffected (it sleeps through condition variables).
"""

from __future__ import annotations

import posixpath
import shlex
import threading
from collections.abc import Mapping

from zablab.harness.control.remote import Remote

LIB_GLOB = "/usr/lib/*/faketime/libfaketimeMT.so.1"


def offset_spec(delta_ms: int) -> str:
    """libfaketime's relative offset: signed seconds, e.g. "+1.500" or "-120.000"."""
    return f"{'+' if delta_ms >= 0 else '-'}{abs(delta_ms) / 1000:.3f}"


class FaketimeClock:
    """Clock implementation: one offset file per node, written atomically over the node's Remote."""

    def __init__(self, remotes: Mapping[str, Remote], dirs: Mapping[str, str]):
        self.remotes = dict(remotes)
        self.files = {n: posixpath.join(d, "faketime.rc") for n, d in dirs.items()}
        self._offsets: dict[str, int] = {}
        self._lib: dict[str, str] = {}
        self._strobes: list[tuple[threading.Thread, threading.Event]] = []

    def library(self, node: str) -> str:
        if node not in self._lib:
            res = self.remotes[node].exec(f"ls {LIB_GLOB} 2>/dev/null | head -n1", check=False)
            path = res.out.strip()
            if not path:
                from zablab.errors import UserError

                raise UserError(
                    f"libfaketime is not installed on {node}; install the 'faketime' package there"
                )
            self._lib[node] = path
        return self._lib[node]

    def prepare(self, node: str) -> None:
        """Create the offset file at zero before the DB starts."""
        self._write(node, 0)

    def env(self, node: str) -> dict[str, str]:
        return {
            "LD_PRELOAD": self.library(node),
            "FAKETIME_TIMESTAMP_FILE": self.files[node],
            "FAKETIME_CACHE_DURATION": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # without this a JVM under libfaketime takes seconds to minutes to start
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
        }

    def _write(self, node: str, delta_ms: int) -> None:
        path = self.files[node]
        tmp = path + ".tmp"
        self.remotes[node].exec(
            f"mkdir -p {shlex.quote(posixpath.dirname(path))} && "
            f"printf '%s\\n' {shlex.quote(offset_spec(delta_ms))} > {shlex.quote(tmp)} && "
            f"mv -f {shlex.quote(tmp)} {shlex.quote(path)}"
        )
        self._offsets[node] = delta_ms

    def offset(self, node: str) -> int:
        return self._offsets.get(node, 0)

    def bump(self, node: str, delta_ms: int) -> None:
        self._write(node, self.offset(node) + delta_ms)

    def strobe(self, node: str, delta_ms: int, period_ms: int, duration_s: float) -> None:
        """Flip the offset between +delta and 0 every period, in the background, for a while."""
        stop = threading.Event()

        def run() -> None:
            base = self.offset(node)
            on = False
            deadline = duration_s
            step = max(period_ms, 10) / 1000
            while deadline > 0 and not stop.wait(step):
                on = not on
                self._write(node, base + (delta_ms if on else 0))
                deadline -= step
            self._write(node, base)

        t = threading.Thread(target=run, name=f"strobe-{node}", daemon=True)
        self._strobes.append((t, stop))
        t.start()

    def reset(self, nodes: list[str] | None = None) -> None:
        for t, stop in self._strobes:
            stop.set()
            t.join(timeout=5)
        self._strobes.clear()
        for node in nodes if nodes is not None else list(self.files):
            self._write(node, 0)


class NodeClock(FaketimeClock):
    """libfaketime without its pthread_cond_timedwait "monotonic fix".

    With the fix on (libfaketime 0.9.10's default), Apache ZooKeeper's JVM starts 5-30 times
    slower (measured: 0.7 s plain, 4-10 s with the fix, more under load); without it the JVM
    still sees the skewed wall clock and sleeps correctly.
    """

    def env(self, node: str) -> dict[str, str]:
        return {**super().env(node), "FAKETIME_FORCE_MONOTONIC_FIX": "0"}
